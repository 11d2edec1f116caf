"""The Task of the handwritten-digit experiments (configs in `digits_config.py`).

Classification of scikit-learn's bundled `digits` (8x8 images) with an MLP
or a CNN; gin may rebind the activations of either.
"""
from typing import List

import gin
import tensorflow as tf
import tf_keras

from official_like.core import task_factory

from experiments import bundled_task
from experiments import datasets
from experiments.digits_config import CNNConfig
from experiments.digits_config import DigitsModelConfig  # pylint: disable=unused-import
from experiments.digits_config import DigitsTaskConfig
from experiments.digits_config import MLPConfig


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
