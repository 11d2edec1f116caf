"""Handwritten-digit classification on scikit-learn's bundled `digits` (8x8 images).

Two registered experiments: `digits_mlp` (the default of `make run`) and
`digits_cnn`. Both reach >= 0.95 validation accuracy in well under a
minute on 2 CPU cores.
"""
import dataclasses
from typing import List

import gin
import tensorflow as tf
import tf_keras

from official_like.core import config_definitions as cfg
from official_like.core import exp_factory
from official_like.core import task_factory
from official_like.modeling import optimization
from official_like.modeling.hyperparams import Config
from official_like.modeling.hyperparams import OneOfConfig

from experiments import bundled_task
from experiments import datasets


@dataclasses.dataclass
class MLPConfig(Config):
  hidden_sizes: List[int] = dataclasses.field(default_factory=lambda: [128, 64])
  dropout: float = 0.1


@dataclasses.dataclass
class CNNConfig(Config):
  filters: List[int] = dataclasses.field(default_factory=lambda: [16, 32])
  kernel_size: int = 3
  dense_size: int = 64
  dropout: float = 0.1


@dataclasses.dataclass
class DigitsModelConfig(OneOfConfig):
  type: str = 'mlp'
  mlp: MLPConfig = dataclasses.field(default_factory=MLPConfig)
  cnn: CNNConfig = dataclasses.field(default_factory=CNNConfig)


@dataclasses.dataclass
class DigitsTaskConfig(bundled_task.BundledTaskConfig):
  model: DigitsModelConfig = dataclasses.field(default_factory=DigitsModelConfig)
  l2_weight_decay: float = 0.0


@gin.configurable(module='experiments.digits', denylist=['config', 'regularizer'])
def build_mlp(config: MLPConfig, regularizer,
              activation: str = 'relu') -> List[tf_keras.layers.Layer]:
  """Hidden layers of the MLP; gin may rebind `activation`."""
  layers = [tf_keras.layers.Flatten()]
  for size in config.hidden_sizes:
    layers += [tf_keras.layers.Dense(size, activation=activation,
                                     kernel_regularizer=regularizer),
               tf_keras.layers.Dropout(config.dropout)]
  return layers


@gin.configurable(module='experiments.digits', denylist=['config', 'regularizer'])
def build_cnn(config: CNNConfig, regularizer,
              activation: str = 'relu') -> List[tf_keras.layers.Layer]:
  """Conv layers and head of the CNN; gin may rebind `activation`."""
  layers = []
  for filters in config.filters:
    layers.append(tf_keras.layers.Conv2D(filters, config.kernel_size, padding='same',
                                         activation=activation,
                                         kernel_regularizer=regularizer))
  layers += [tf_keras.layers.MaxPooling2D(), tf_keras.layers.Flatten(),
             tf_keras.layers.Dense(config.dense_size, activation='relu',
                                   kernel_regularizer=regularizer),
             tf_keras.layers.Dropout(config.dropout)]
  return layers


@task_factory.register_task_cls(DigitsTaskConfig)
class DigitsClassificationTask(bundled_task.BundledDataTask):
  """10-way softmax classifier; reports `accuracy`."""

  dataset = 'digits'

  def build_model(self) -> tf_keras.Model:
    config = self.task_config
    regularizer = (tf_keras.regularizers.L2(config.l2_weight_decay)
                   if config.l2_weight_decay else None)
    body = {'mlp': build_mlp, 'cnn': build_cnn}[config.model.type](
        config.model.get(), regularizer)
    num_classes = datasets.info('digits').num_classes
    model = tf_keras.Sequential(
        [tf_keras.Input(datasets.info('digits').feature_shape)] + body +
        [tf_keras.layers.Dense(num_classes, dtype='float32', name='logits')])
    return model

  def build_losses(self, labels, model_outputs, aux_losses=None) -> tf.Tensor:
    loss = tf.reduce_mean(tf_keras.losses.sparse_categorical_crossentropy(
        labels, model_outputs, from_logits=True))
    if aux_losses:
      loss += tf.add_n(aux_losses)
    return loss

  def build_metrics(self, training: bool = True):
    del training
    return [tf_keras.metrics.SparseCategoricalAccuracy(name='accuracy')]


def _digits_experiment(model_type: str, learning_rate: float) -> cfg.ExperimentConfig:
  train_steps = 600
  train_data, validation_data = bundled_task.data_configs(64, 120)
  return cfg.ExperimentConfig(
      task=DigitsTaskConfig(model=DigitsModelConfig(type=model_type),
                            train_data=train_data, validation_data=validation_data),
      trainer=cfg.TrainerConfig(
          train_steps=train_steps, steps_per_loop=50, summary_interval=50,
          checkpoint_interval=200, validation_interval=200, max_to_keep=3,
          best_checkpoint_export_subdir='best_ckpt',
          best_checkpoint_eval_metric='accuracy',
          optimizer_config=optimization.OptimizationConfig({
              'optimizer': {'type': 'sgd', 'sgd': {'momentum': 0.9}},
              'learning_rate': {'type': 'cosine', 'cosine': {
                  'initial_learning_rate': learning_rate,
                  'decay_steps': train_steps}},
              'warmup': {'type': 'linear', 'linear': {'warmup_steps': 100}},
          })),
      runtime=cfg.RuntimeConfig(distribution_strategy='one_device'))


@exp_factory.register_config_factory('digits_mlp')
def digits_mlp() -> cfg.ExperimentConfig:
  """An MLP on the flattened 8x8 digits: SGD+momentum, cosine decay, linear warmup."""
  return _digits_experiment('mlp', learning_rate=0.1)


@exp_factory.register_config_factory('digits_cnn')
def digits_cnn() -> cfg.ExperimentConfig:
  """A two-conv-layer CNN on the 8x8 digits."""
  return _digits_experiment('cnn', learning_rate=0.05)
