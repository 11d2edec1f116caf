"""The Task of `diabetes_regression` (its config is in `diabetes_config.py`)."""
import tensorflow as tf
import tf_keras

from official_like.core import task_factory

from experiments import bundled_task
from experiments import datasets
from experiments.diabetes_config import DiabetesTaskConfig
from experiments.diabetes_config import RegressorConfig  # pylint: disable=unused-import


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
