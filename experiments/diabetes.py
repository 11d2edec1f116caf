"""Regression on scikit-learn's bundled `diabetes` dataset (10 features, 442 patients).

The target is standardised on the training split, so losses are in units
of the target's standard deviation.
"""
import dataclasses
from typing import List

import tensorflow as tf
import tf_keras

from official_like.core import config_definitions as cfg
from official_like.core import exp_factory
from official_like.core import task_factory
from official_like.modeling import optimization
from official_like.modeling.hyperparams import Config

from experiments import bundled_task
from experiments import datasets


@dataclasses.dataclass
class RegressorConfig(Config):
  hidden_sizes: List[int] = dataclasses.field(default_factory=lambda: [32])


@dataclasses.dataclass
class DiabetesTaskConfig(bundled_task.BundledTaskConfig):
  model: RegressorConfig = dataclasses.field(default_factory=RegressorConfig)


@task_factory.register_task_cls(DiabetesTaskConfig)
class DiabetesRegressionTask(bundled_task.BundledDataTask):
  """Mean-squared-error regression; reports mean absolute error and RMSE."""

  dataset = 'diabetes'

  def build_model(self) -> tf_keras.Model:
    layers = [tf_keras.Input(datasets.info('diabetes').feature_shape)]
    layers += [tf_keras.layers.Dense(n, activation='relu')
               for n in self.task_config.model.hidden_sizes]
    layers.append(tf_keras.layers.Dense(1, dtype='float32'))
    return tf_keras.Sequential(layers)

  def build_losses(self, labels, model_outputs, aux_losses=None) -> tf.Tensor:
    loss = tf.reduce_mean(tf.square(tf.squeeze(model_outputs, -1) - labels))
    if aux_losses:
      loss += tf.add_n(aux_losses)
    return loss

  def process_metrics(self, metrics, labels, model_outputs, **kwargs):
    for metric in metrics:
      metric.update_state(labels, tf.squeeze(model_outputs, -1))

  def build_metrics(self, training: bool = True):
    del training
    return [tf_keras.metrics.MeanAbsoluteError(name='mae'),
            tf_keras.metrics.RootMeanSquaredError(name='rmse')]


@exp_factory.register_config_factory('diabetes_regression')
def diabetes_regression() -> cfg.ExperimentConfig:
  """A one-hidden-layer regressor trained with Adam and exponential decay."""
  train_data, validation_data = bundled_task.data_configs(32, 96)
  return cfg.ExperimentConfig(
      task=DiabetesTaskConfig(train_data=train_data, validation_data=validation_data),
      trainer=cfg.TrainerConfig(
          train_steps=400, steps_per_loop=20, summary_interval=20,
          checkpoint_interval=100, validation_interval=100,
          best_checkpoint_export_subdir='best_ckpt',
          best_checkpoint_eval_metric='rmse', best_checkpoint_metric_comp='lower',
          optimizer_config=optimization.OptimizationConfig({
              'optimizer': {'type': 'adam'},
              'learning_rate': {'type': 'exponential', 'exponential': {
                  'initial_learning_rate': 0.01, 'decay_steps': 100,
                  'decay_rate': 0.7}},
          })),
      runtime=cfg.RuntimeConfig(distribution_strategy='one_device'))
