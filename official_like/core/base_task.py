"""`Task`: what to learn — model, inputs, losses, metrics and one training step.

Users subclass it for their problem; the Trainer only calls these methods.
The optimizer is built by the classmethod `create_optimizer` through the
`OptimizerFactory`, so a task that needs a different optimizer overrides
that one method (TFM's "Customizing Optimizer Inside Task").
"""
import abc
from typing import Any, Dict, List, Optional

from absl import logging
import tensorflow as tf
import tf_keras

from official_like.core import config_definitions as cfg
from official_like.modeling.hyperparams import ConfigError
from official_like.modeling.optimization import OptimizationConfig
from official_like.modeling.optimization import OptimizerFactory

Logs = Dict[str, Any]


def split_inputs(inputs):
  """`(features, labels)` from a pair; any other input serves as both."""
  if isinstance(inputs, tuple) and len(inputs) == 2:
    return inputs
  return inputs, inputs


class Task(tf.Module, metaclass=abc.ABCMeta):
  """One learning problem; the Trainer drives it, the config parameterises it."""

  loss = 'loss'  # Key of the training/validation loss in the step logs.

  def __init__(self, params: cfg.TaskConfig, logging_dir: Optional[str] = None,
               name: Optional[str] = None):
    super().__init__(name=name)
    self._task_config = params
    self._logging_dir = logging_dir

  @property
  def task_config(self) -> cfg.TaskConfig:
    return self._task_config

  @property
  def logging_dir(self) -> Optional[str]:
    return self._logging_dir

  @classmethod
  def create_optimizer(cls, optimizer_config: OptimizationConfig,
                       runtime_config: Optional[cfg.RuntimeConfig] = None,
                       dp_config: Optional[Any] = None):
    """Schedule and optimizer from the factory, loss-scaled for float16.

    The factory remembers the config (`optimizer_factory.built_from`), so a
    run records what a Task that edits its optimizer config really used.
    `dp_config` is TFM's differential-privacy config, which official_like
    does not implement: anything but None is refused.
    """
    if dp_config is not None:
      raise ConfigError(('task', 'differential_privacy_config'),
                        'differential privacy is not supported by official_like')
    factory = OptimizerFactory(optimizer_config)
    optimizer = factory.build_optimizer(factory.build_learning_rate())
    if runtime_config is not None and runtime_config.mixed_precision_dtype == 'float16':
      scale = runtime_config.loss_scale
      if scale is None or scale == 'dynamic':
        optimizer = tf_keras.mixed_precision.LossScaleOptimizer(optimizer)
      else:
        optimizer = tf_keras.mixed_precision.LossScaleOptimizer(
            optimizer, dynamic=False, initial_scale=scale)
    return optimizer

  def initialize(self, model: tf_keras.Model) -> None:
    """Loads `init_checkpoint` (when set) into the model before training starts.

    What is restored is `model.checkpoint_items` when the model has them (TFM's
    BERT encoders warm-start that way), else the model. A directory that
    holds no checkpoint yet is skipped with a warning, as TFM does (a zoo
    config may name a directory a pretraining run fills later). A checkpoint
    that does not fit the model is a ConfigError naming
    `task.init_checkpoint`, not a restore traceback.
    """
    path = self._task_config.init_checkpoint
    if not path:
      return
    if tf.io.gfile.isdir(path):
      path = tf.train.latest_checkpoint(path)
      if path is None:
        logging.warning('task.init_checkpoint: no checkpoint in directory %r yet; '
                        'the model starts from its initial weights',
                        self._task_config.init_checkpoint)
        return
    items = getattr(model, 'checkpoint_items', None) or {'model': model}
    try:
      status = tf.train.Checkpoint(**items).read(path)
      status.expect_partial().assert_existing_objects_matched()
    except (ValueError, AssertionError, tf.errors.OpError) as e:
      raise ConfigError(('task', 'init_checkpoint'), f'{path!r} does not fit the model: '
                        f'{str(e).strip().splitlines()[0]}') from None
    logging.info('Initialized model from %s', path)

  def build_model(self) -> tf_keras.Model:
    """The model to train; called under the distribution strategy's scope.

    Not abstract, as in TFM: a task that only serves inputs (TFM's multitask
    code builds such) needs none. The runner refuses a task that returns None.
    """
    return None

  @abc.abstractmethod
  def build_inputs(self, params: cfg.DataConfig,
                   input_context: Optional[tf.distribute.InputContext] = None
                   ) -> tf.data.Dataset:
    """Per-replica batches of (features, labels) for `params`."""

  def build_losses(self, labels, model_outputs, aux_losses=None) -> tf.Tensor:
    """The scalar loss; this default is the sum of the model's `aux_losses` (0 if none)."""
    del labels, model_outputs
    return tf.add_n(aux_losses or [tf.constant(0.0, tf.float32)])

  def build_metrics(self, training: bool = True) -> List[tf_keras.metrics.Metric]:
    """Keras metrics updated by `process_metrics` at every step."""
    del training
    return []

  def process_metrics(self, metrics, labels, model_outputs, **kwargs) -> None:
    del kwargs
    for metric in metrics:
      metric.update_state(labels, model_outputs)

  def process_compiled_metrics(self, compiled_metrics, labels, model_outputs) -> None:
    """Updates the metrics given to `model.compile` (compile/fit-style models)."""
    compiled_metrics.update_state(labels, model_outputs)

  def _loss(self, model: tf_keras.Model, labels, outputs) -> tf.Tensor:
    """A compiled model's loss plus `build_losses`, else `build_losses` with aux losses."""
    if getattr(model, 'compiled_loss', None):
      loss = model.compiled_loss(labels, outputs, regularization_losses=model.losses)
      return loss + self.build_losses(labels=labels, model_outputs=outputs,
                                      aux_losses=None)
    return self.build_losses(labels=labels, model_outputs=outputs,
                             aux_losses=model.losses)

  def _update_metrics(self, model, metrics, labels, outputs, logs: Logs) -> Logs:
    if metrics:
      self.process_metrics(metrics, labels, outputs)
    if getattr(model, 'compiled_metrics', None):
      self.process_compiled_metrics(model.compiled_metrics, labels, outputs)
      logs.update({m.name: m.result() for m in list(metrics or []) + model.metrics})
    return logs

  def train_step(self, inputs, model: tf_keras.Model, optimizer,
                 metrics: Optional[List[tf_keras.metrics.Metric]] = None) -> Logs:
    """One update on one replica's batch; gradients are summed across replicas.

    `inputs` is `(features, labels)`, or anything else, which is then both
    (TFM's convention for self-supervised inputs). The loss is divided by the
    replica count before differentiation, so the summed gradient equals the
    gradient of the global-batch mean whatever the number of replicas.
    """
    features, labels = split_inputs(inputs)
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    with tf.GradientTape() as tape:
      outputs = model(features, training=True)
      outputs = tf.nest.map_structure(lambda x: tf.cast(x, tf.float32), outputs)
      loss = self._loss(model, labels, outputs)
      scaled_loss = loss / replicas
      if isinstance(optimizer, tf_keras.mixed_precision.LossScaleOptimizer):
        scaled_loss = optimizer.get_scaled_loss(scaled_loss)
    grads = tape.gradient(scaled_loss, model.trainable_variables)
    if isinstance(optimizer, tf_keras.mixed_precision.LossScaleOptimizer):
      grads = optimizer.get_unscaled_gradients(grads)
    optimizer.apply_gradients(list(zip(grads, model.trainable_variables)))
    return self._update_metrics(model, metrics, labels, outputs, {self.loss: loss})

  def validation_step(self, inputs, model: tf_keras.Model,
                      metrics: Optional[List[tf_keras.metrics.Metric]] = None) -> Logs:
    features, labels = split_inputs(inputs)
    outputs = self.inference_step(features, model)
    outputs = tf.nest.map_structure(lambda x: tf.cast(x, tf.float32), outputs)
    loss = self.build_losses(labels=labels, model_outputs=outputs,
                             aux_losses=model.losses)
    return self._update_metrics(model, metrics, labels, outputs, {self.loss: loss})

  def inference_step(self, inputs, model: tf_keras.Model):
    return model(inputs, training=False)

  def aggregate_logs(self, state, step_logs):
    """Accumulates per-step outputs over an evaluation (None: nothing to keep)."""
    del step_logs
    return state

  def reduce_aggregated_logs(self, aggregated_logs, global_step=None) -> Logs:
    """Turns the accumulated state into final eval metrics."""
    del aggregated_logs, global_step
    return {}
