"""`OptimizerFactory`: an `OptimizationConfig` in, a schedule and an optimizer out.

The config is validated when the factory is made, so every mistake is
reported before TensorFlow builds anything. `build_learning_rate()` returns
what TFM's returns: a Keras `LearningRateSchedule`, or for `constant` the bare
float (TFM code compares the optimizer's `get_config()` and treats the rate as
a number). `build_schedule()` is always a schedule, so official_like's LR tools
(plan, preview, lint) can write `lr(step)` for every type.

TFM's module-level names live here too: the tables `LEGACY_OPTIMIZERS_CLS`,
`NEW_OPTIMIZERS_CLS`, `SHARED_OPTIMIZERS`, `LR_CLS`, `WARMUP_CLS` and
`register_optimizer_cls` (defined in `registry`).
"""
from typing import Callable, List, Optional, Sequence, Tuple, Union
import weakref

from absl import logging
import gin
import tensorflow as tf
import tf_keras

from official_like.modeling.hyperparams import ConfigError
from official_like.modeling.optimization import ema_optimizer
from official_like.modeling.optimization import lr_resolution
from official_like.modeling.optimization.configs import optimization_config as cfg
from official_like.modeling.optimization.registry import LEGACY_OPTIMIZERS_CLS
from official_like.modeling.optimization.registry import LR_CLS
from official_like.modeling.optimization.registry import NEW_OPTIMIZERS_CLS
from official_like.modeling.optimization.registry import register_optimizer_cls  # pylint: disable=unused-import
from official_like.modeling.optimization.registry import SHARED_OPTIMIZERS  # pylint: disable=unused-import
from official_like.modeling.optimization.registry import WARMUP_CLS

GradsAndVars = List[Tuple[tf.Tensor, tf.Variable]]
_BUILT_FROM = weakref.WeakKeyDictionary()


def built_from(optimizer) -> Optional[cfg.OptimizationConfig]:
  """The OptimizationConfig a factory built `optimizer` from, if any.

  A Task may edit its config before building; a run records what was used.
  """
  return _BUILT_FROM.get(getattr(optimizer, 'inner_optimizer', optimizer))


_CLIP_KEYS = ('clipnorm', 'clipvalue', 'global_clipnorm')


class OptimizerFactory:
  """Builds the learning-rate schedule and the optimizer an OptimizationConfig describes."""

  def __init__(self, config: cfg.OptimizationConfig):
    if not isinstance(config, cfg.OptimizationConfig):
      raise TypeError('OptimizerFactory expects an OptimizationConfig, got '
                      f'{type(config).__name__}; build one with '
                      'OptimizationConfig({...})')
    config.check_complete()
    config.validate()
    _refuse_unresolved(config)
    self._config = config
    self._optimizer_type = config.optimizer.type
    self._optimizer_config = config.optimizer.get()
    self._lr_type = config.learning_rate.type
    self._lr_config = config.learning_rate.get()
    self._warmup_type = config.warmup.type
    self._warmup_config = config.warmup.get()
    self._ema_config = config.ema

  def build_learning_rate(self) -> Union[tf_keras.optimizers.schedules.LearningRateSchedule,
                                          float]:
    """TFM's result: `build_schedule()`, except the bare float for `constant`."""
    if self._lr_type != 'constant':
      return self.build_schedule()
    return self._with_warmup(self._lr_config.learning_rate)

  def build_schedule(self) -> tf_keras.optimizers.schedules.LearningRateSchedule:
    """The schedule, with the warmup (if any) replacing its first warmup_steps."""
    return self._with_warmup(LR_CLS[self._lr_type](**self._lr_config.as_dict()))

  def _with_warmup(self, lr):
    if self._warmup_config is None:
      return lr
    return WARMUP_CLS[self._warmup_type](lr, **self._warmup_config.as_dict())

  @gin.configurable(module='official_like.OptimizerFactory')
  def build_optimizer(
      self,
      lr: Union[tf_keras.optimizers.schedules.LearningRateSchedule, float],
      gradient_aggregator: Optional[Callable[[GradsAndVars], GradsAndVars]] = None,
      gradient_transformers: Optional[Sequence[Callable[[GradsAndVars],
                                                        GradsAndVars]]] = None,
      postprocessor: Optional[Callable[[tf_keras.optimizers.Optimizer],
                                       tf_keras.optimizers.Optimizer]] = None,
      use_legacy_optimizer: bool = True):
    """The optimizer for `lr` (a schedule from build_learning_rate, or a float).

    `gradient_aggregator` and `gradient_transformers` go to the optimizer as
    in Keras 2's legacy optimizers (transformers run after aggregation);
    `postprocessor` receives the finished optimizer (after EMA wrapping) and
    returns the one to use.
    """
    kwargs = self._optimizer_config.as_dict()
    for key in _CLIP_KEYS:  # registered configs need not have them
      if key in kwargs and kwargs[key] is None:
        del kwargs[key]
    kwargs['learning_rate'] = lr
    if gradient_aggregator is not None:
      kwargs['gradient_aggregator'] = gradient_aggregator
    if gradient_transformers is not None:
      kwargs['gradient_transformers'] = list(gradient_transformers)

    if use_legacy_optimizer:
      optimizer = LEGACY_OPTIMIZERS_CLS[self._optimizer_type](**kwargs)
    else:
      if kwargs.pop('decay', 0.0):
        raise ConfigError(('optimizer', self._optimizer_type, 'decay'),
                          'is not supported by the new Keras optimizers '
                          '(use_legacy_optimizer=False); express the decay in '
                          'learning_rate or use the legacy optimizer')
      optimizer = NEW_OPTIMIZERS_CLS[self._optimizer_type](**kwargs)

    if self._ema_config is not None:
      if not use_legacy_optimizer:
        raise ConfigError(('ema',), 'needs the legacy optimizer; set '
                          'use_legacy_optimizer=True or remove ema')
      optimizer = ema_optimizer.ExponentialMovingAverage(
          optimizer, **self._ema_config.as_dict())
    _warn_if_clipvalue_is_ignored(optimizer)
    if postprocessor is not None:
      optimizer = postprocessor(optimizer)
    if not isinstance(optimizer, (tf_keras.optimizers.Optimizer,
                                  tf_keras.optimizers.legacy.Optimizer)):
      raise TypeError('build_optimizer: postprocessor returned '
                      f'{type(optimizer).__name__}, not a tf_keras optimizer')
    _BUILT_FROM[optimizer] = self._config
    return optimizer


def _refuse_unresolved(config: cfg.OptimizationConfig) -> None:
  """A -1 length or an unapplied scaling would build a wrong schedule silently.

  Both need the run's train_steps and batch, which an OptimizationConfig
  does not hold; experiment parsing and the runner resolve them
  (`lr_resolution.resolve`).
  """
  for key in lr_resolution.unresolved(config):
    if key == 'learning_rate_scaling':
      why = ('the rates are not scaled to the batch yet (resolved_batch_size is '
             'unset); resolve the config first with lr_resolution.resolve(config, '
             'train_steps, global_batch_size)')
    else:
      why = (f'is {lr_resolution.TRAIN_STEPS} ("end with trainer.train_steps"), '
             'which is replaced by a number when an experiment is parsed or run; '
             'a config built on its own needs the number (or '
             'lr_resolution.resolve(config, train_steps, global_batch_size))')
    raise ConfigError(tuple(key.split('.')), why)


def _warn_if_clipvalue_is_ignored(optimizer) -> None:
  """Keras accepts clipvalue with a norm clip, but its new optimizers drop it.

  They apply only the first of clipnorm, global_clipnorm and clipvalue that
  is set (the legacy ones apply all three). TFM passes such configs on as
  they are, so do we; the log says what actually happens.
  """
  if not isinstance(optimizer, tf_keras.optimizers.Optimizer):
    return
  norm = optimizer.clipnorm or optimizer.global_clipnorm
  if optimizer.clipvalue and norm:
    logging.warning(
        '%s: clipvalue=%s is ignored by the new Keras optimizers because a '
        'norm clip (%s) is set; set one of them to null, or use a legacy '
        'optimizer to apply both.', type(optimizer).__name__,
        optimizer.clipvalue, norm)
