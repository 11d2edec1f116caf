"""The Trainer: Orbit's StandardTrainer and StandardEvaluator driving a Task.

Orbit owns the loops (`steps_per_loop` steps inside one `tf.function`, a
`tf.while_loop` when `train_tf_while_loop`); this class only says what one
step is, what is reported at the end of a loop, and which objects are
checkpointed.
"""
from typing import Dict, List

import orbit
import tensorflow as tf
import tf_keras

from official_like.core import base_task
from official_like.core import config_definitions as cfg


def learning_rate_at(optimizer, step) -> tf.Tensor:
  """The schedule's value at `step`, for legacy and new Keras optimizers alike.

  A LossScaleOptimizer is looked through: around a new Keras optimizer its
  `learning_rate` is the rate of the last update, not the schedule.
  """
  optimizer = getattr(optimizer, 'inner_optimizer', optimizer)
  lr = getattr(optimizer, '_learning_rate', None)
  if not isinstance(lr, tf_keras.optimizers.schedules.LearningRateSchedule):
    lr = optimizer.learning_rate
  if isinstance(lr, tf_keras.optimizers.schedules.LearningRateSchedule):
    return tf.cast(lr(step), tf.float32)
  return tf.cast(tf.convert_to_tensor(lr), tf.float32)


class Trainer(orbit.StandardTrainer, orbit.StandardEvaluator):
  """Trains and evaluates one Task's model with one optimizer."""

  def __init__(self, config: cfg.ExperimentConfig, task: base_task.Task,
               model: tf_keras.Model, optimizer, train: bool = True,
               evaluate: bool = True,
               train_dataset=None, validation_dataset=None):
    self._config = config
    self._task = task
    self._model = model
    self._optimizer = optimizer
    self._strategy = tf.distribute.get_strategy()
    self._global_step = orbit.utils.create_global_step()
    self._checkpoint = tf.train.Checkpoint(
        global_step=self._global_step, model=model, optimizer=optimizer)
    self._train_loss = tf_keras.metrics.Mean('training_loss', dtype=tf.float32)
    self._validation_loss = tf_keras.metrics.Mean('validation_loss', dtype=tf.float32)
    self._train_metrics = task.build_metrics(training=True) + model.metrics
    self._validation_metrics = task.build_metrics(training=False) + model.metrics
    self._reset_train_metrics = True
    trainer = config.trainer
    if train:
      dataset = train_dataset or orbit.utils.make_distributed_dataset(
          self._strategy, task.build_inputs, config.task.train_data)
      orbit.StandardTrainer.__init__(
          self, dataset, options=orbit.StandardTrainerOptions(
              use_tf_while_loop=trainer.train_tf_while_loop,
              use_tf_function=trainer.train_tf_function,
              use_tpu_summary_optimization=trainer.allow_tpu_summary))
    if evaluate:
      dataset = validation_dataset or orbit.utils.make_distributed_dataset(
          self._strategy, task.build_inputs, config.task.validation_data)
      orbit.StandardEvaluator.__init__(
          self, dataset, options=orbit.StandardEvaluatorOptions(
              use_tf_function=trainer.eval_tf_function,
              use_tf_while_loop=trainer.eval_tf_while_loop))

  # Objects the rest of the library reaches for.

  @property
  def config(self) -> cfg.ExperimentConfig:
    return self._config

  @property
  def task(self) -> base_task.Task:
    return self._task

  @property
  def model(self) -> tf_keras.Model:
    return self._model

  @property
  def optimizer(self):
    return self._optimizer

  @property
  def strategy(self) -> tf.distribute.Strategy:
    return self._strategy

  @property
  def global_step(self) -> tf.Variable:
    return self._global_step

  @property
  def checkpoint(self) -> tf.train.Checkpoint:
    return self._checkpoint

  @property
  def train_metrics(self) -> List[tf_keras.metrics.Metric]:
    return self._train_metrics

  @property
  def validation_metrics(self) -> List[tf_keras.metrics.Metric]:
    return self._validation_metrics

  def initialize(self) -> None:
    """Runs once when no checkpoint exists: the task's warm start."""
    self._task.initialize(self._model)

  # Training.

  def train_loop_begin(self) -> None:
    # Metrics average over a whole summary interval, then start afresh.
    if self._reset_train_metrics:
      for metric in self._train_metrics + [self._train_loss]:
        metric.reset_states()
      self._reset_train_metrics = False

  def train_step(self, iterator) -> None:
    def step_fn(inputs):
      logs = self._task.train_step(inputs, model=self._model,
                                   optimizer=self._optimizer,
                                   metrics=self._train_metrics)
      self._train_loss.update_state(logs[self._task.loss])
      self._global_step.assign_add(1)
    self._strategy.run(step_fn, args=(next(iterator),))

  def train_loop_end(self) -> Dict[str, tf.Tensor]:
    """Loss and metrics since the last summary, and lr(global_step)."""
    logs = {m.name: m.result() for m in self._train_metrics + [self._train_loss]}
    logs['learning_rate'] = learning_rate_at(self._optimizer, self._global_step)
    step = int(self._global_step.numpy())
    self._reset_train_metrics = step % self._config.trainer.summary_interval == 0
    return logs

  # Evaluation.

  def _swap_averaged_weights(self) -> None:
    if hasattr(self._optimizer, 'swap_weights'):
      self._optimizer.swap_weights()

  def eval_begin(self) -> None:
    for metric in self._validation_metrics + [self._validation_loss]:
      metric.reset_states()
    self._swap_averaged_weights()

  def eval_step(self, iterator):
    def step_fn(inputs):
      logs = self._task.validation_step(inputs, model=self._model,
                                        metrics=self._validation_metrics)
      self._validation_loss.update_state(logs[self._task.loss])
      return logs
    outputs = self._strategy.run(step_fn, args=(next(iterator),))
    return tf.nest.map_structure(self._strategy.experimental_local_results, outputs)

  def eval_reduce(self, state=None, step_outputs=None):
    return self._task.aggregate_logs(state=state, step_logs=step_outputs)

  def eval_end(self, aggregated_logs=None) -> Dict[str, tf.Tensor]:
    logs = {m.name: m.result() for m in self._validation_metrics + [self._validation_loss]}
    if aggregated_logs is not None:
      logs.update(self._task.reduce_aggregated_logs(
          aggregated_logs, global_step=self._global_step))
    self._swap_averaged_weights()
    return logs
