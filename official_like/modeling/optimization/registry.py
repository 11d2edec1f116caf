"""Name -> implementation tables for optimizers, schedules and warmups.

The tables carry TFM's names (`LEGACY_OPTIMIZERS_CLS`, `NEW_OPTIMIZERS_CLS`,
`LR_CLS`, `WARMUP_CLS`; `optimizer_factory` re-exports them). Registering a
new component is one call: it adds the config class as a new choice of the
matching oneof config (so YAML can select it by `type`) and the
implementation to the factory's table. Every call also works as a decorator.
TFM's `register_optimizer_cls` is kept for code that subclasses the configs
itself and only needs the class in a table.
"""
from typing import Callable, Dict, Optional

import tf_keras

from official_like.modeling.hyperparams import Config
from official_like.modeling.hyperparams import ConfigError
from official_like.modeling.hyperparams.registry import Registry
from official_like.modeling.optimization import adafactor
from official_like.modeling.optimization import adan
from official_like.modeling.optimization import lamb
from official_like.modeling.optimization import lars
from official_like.modeling.optimization import legacy_adamw
from official_like.modeling.optimization import lion
from official_like.modeling.optimization import lr_schedule
from official_like.modeling.optimization import lr_schedule_modern
from official_like.modeling.optimization import nadam
from official_like.modeling.optimization import schedule_facts
from official_like.modeling.optimization.configs import optimization_config as cfg

_legacy = tf_keras.optimizers.legacy
_new = tf_keras.optimizers

# Optimizers whose class does not depend on `use_legacy_optimizer`.
SHARED_OPTIMIZERS: Dict[str, type] = {
    'sgd_experimental': _new.SGD,
    'adam_experimental': _new.Adam,
    'adamw': legacy_adamw.AdamWeightDecay,
    'adamw_experimental': _new.AdamW,
    'lamb': lamb.LAMB,
    'lars': lars.LARS,
    'adafactor': adafactor.Adafactor,
    'adafactor_keras': _new.Adafactor,
    # Ours, not TFM's (as are adamax and lion below). Keras' legacy Nadam
    # refuses a schedule, and tf_keras 2.20's new one steps to -inf on its
    # first step inside a tf.function (see nadam.py): ours serves both.
    'adan': adan.Adan,
    'nadam': nadam.Nadam,
}
# Keras has no legacy Lion: ours stands in, so EMA and the gradient hooks
# work with it under the default use_legacy_optimizer=True.
LEGACY_OPTIMIZERS_CLS: Dict[str, type] = {
    'sgd': _legacy.SGD, 'adam': _legacy.Adam, 'rmsprop': _legacy.RMSprop,
    'adagrad': _legacy.Adagrad, 'adamax': _legacy.Adamax, 'lion': lion.Lion,
    **SHARED_OPTIMIZERS}
NEW_OPTIMIZERS_CLS: Dict[str, type] = {
    'sgd': _new.SGD, 'adam': _new.Adam, 'rmsprop': _new.RMSprop,
    'adagrad': _new.Adagrad, 'adamax': _new.Adamax, 'lion': _new.Lion,
    **SHARED_OPTIMIZERS}

LR_CLS: Dict[str, type] = {
    'constant': lr_schedule.ConstantLearningRate,
    'stepwise': lr_schedule.PiecewiseConstantDecayWithOffset,
    'polynomial': lr_schedule.PolynomialDecayWithOffset,
    'exponential': lr_schedule.ExponentialDecayWithOffset,
    'cosine': lr_schedule.CosineDecayWithOffset,
    'power': lr_schedule.DirectPowerDecay,
    'power_linear': lr_schedule.PowerAndLinearDecay,
    'power_with_offset': lr_schedule.PowerDecayWithOffset,
    'step_cosine_with_offset': lr_schedule.StepCosineDecayWithOffset,
    # Ours, not TFM's.
    'wsd': lr_schedule_modern.StableDecayWithOffset,
    'cosine_restarts': lr_schedule_modern.CosineDecayRestartsWithOffset,
    'inverse_sqrt': lr_schedule_modern.InverseSqrtDecayWithOffset,
    'one_cycle': lr_schedule_modern.OneCycleWithOffset,
    'linear': lr_schedule_modern.LinearDecayWithOffset,
}

WARMUP_CLS: Dict[str, type] = {
    'linear': lr_schedule.LinearWarmup,
    'polynomial': lr_schedule.PolynomialWarmUp,
}


OPTIMIZERS = Registry('optimizer', tables=(LEGACY_OPTIMIZERS_CLS, NEW_OPTIMIZERS_CLS))
LEARNING_RATES = Registry('learning_rate', tables=(LR_CLS,))
WARMUPS = Registry('warmup', tables=(WARMUP_CLS,))


def _register(registry: Registry, oneof_cls, name: str, config_cls, impl):
  """Adds `name` as a choice of `oneof_cls` (config) and to `registry` (class)."""
  def add(impl_cls):
    kind = registry.kind
    if not isinstance(name, str) or not name.isidentifier():
      raise ConfigError((kind,), f'a type name must be an identifier, got {name!r}')
    if name in oneof_cls.field_types() or name in registry:
      raise registry.taken(name, oneof_cls.options())
    if hasattr(oneof_cls, name):
      raise ConfigError((kind,), f'type name {name!r} is reserved: it is an '
                        f'attribute of {oneof_cls.__name__}')
    if not (isinstance(config_cls, type) and issubclass(config_cls, Config)):
      raise ConfigError((kind,), f'type {name!r}: config class must subclass '
                        f'official_like Config, got {config_cls!r}')
    oneof_cls.register_option(name, config_cls)
    return registry.register(name, impl_cls)
  return add if impl is None else add(impl)


def register_optimizer(name: str, config_cls: type,
                       optimizer_cls: Optional[type] = None) -> Callable:
  """Makes `optimizer.type: name` build `optimizer_cls(**config, learning_rate=lr)`."""
  return _register(OPTIMIZERS, cfg.OptimizerConfig, name, config_cls, optimizer_cls)


def register_learning_rate(name: str, config_cls: type,
                           schedule_cls: Optional[type] = None,
                           facts: Optional[schedule_facts.ScheduleFacts] = None) -> Callable:
  """Makes `learning_rate.type: name` build `schedule_cls(**config)`.

  `facts` (its NumPy rates, decay end, boundaries, ...) give the schedule the
  all-zero check, lint and preview points of the built-in ones; without them
  the tools use what its fields say (see `schedule_facts`).
  """
  add = _register(LEARNING_RATES, cfg.LrConfig, name, config_cls, None)

  def add_with_facts(impl_cls):
    add(impl_cls)
    if facts is not None:
      schedule_facts.FACTS[name] = facts
    return impl_cls
  return add_with_facts if schedule_cls is None else add_with_facts(schedule_cls)


def register_warmup(name: str, config_cls: type,
                    warmup_cls: Optional[type] = None) -> Callable:
  """Makes `warmup.type: name` build `warmup_cls(schedule, **config)`."""
  return _register(WARMUPS, cfg.WarmupConfig, name, config_cls, warmup_cls)


def register_optimizer_cls(key: str, optimizer_cls: type,
                           use_legacy_optimizer: bool = True) -> None:
  """Adds `optimizer_cls` to one table only, as TFM's function does.

  The config side is the caller's: a subclass of `OptimizerConfig` with a
  field named `key`. `register_optimizer` does both halves at once.
  """
  if use_legacy_optimizer:
    table_name, table = 'LEGACY_OPTIMIZERS_CLS', LEGACY_OPTIMIZERS_CLS
  else:
    table_name, table = 'NEW_OPTIMIZERS_CLS', NEW_OPTIMIZERS_CLS
  if key in table:
    raise ConfigError((), f'{key} already registered in {table_name}; '
                      'pick another name')
  table[key] = optimizer_cls
