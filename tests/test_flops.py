"""`train_utils.try_count_flops` against TFM's, on the experiments' models and an einsum model."""
import pytest
import tensorflow as tf
import tf_keras
from official.core import train_utils as tfm_train_utils
from tensorflow.python.framework import convert_to_constants

import experiments  # noqa: F401  (registers the experiments)
from official_like.core import exp_factory
from official_like.core import flops
from official_like.core import task_factory
from official_like.core import train_utils


def einsum_model():
  inputs = tf_keras.Input((12, 16))
  hidden = tf_keras.layers.EinsumDense('btd,dh->bth', output_shape=(12, 8))(inputs)
  return tf_keras.Model(inputs, tf_keras.layers.EinsumDense('bth,th->bh', (8,))(hidden))


def experiment_model(name):
  return task_factory.get_task(exp_factory.get_exp_config(name).task).build_model()


@pytest.mark.parametrize('build', [lambda: experiment_model('digits_mlp'),
                                   lambda: experiment_model('digits_cnn'),
                                   lambda: experiment_model('diabetes_regression'),
                                   einsum_model])
def test_flops_equal_tfms(build):
  model = build()
  ours = train_utils.try_count_flops(model)
  assert ours and ours > 500
  assert ours == tfm_train_utils.try_count_flops(model)


def test_einsum_formula_is_tfms_and_not_counted_twice():
  model = einsum_model()
  concrete = tf.function(model).get_concrete_function([tf.TensorSpec([1, 12, 16])])
  frozen, _ = convert_to_constants.convert_variables_to_constants_v2_as_graph(concrete)
  nodes = [op.node_def for op in frozen.graph.get_operations() if op.type == 'Einsum']
  assert len(nodes) == 2
  for node in nodes:  # TFM's is registered in this process (imported above).
    assert flops._einsum_flops(frozen.graph, node) == tfm_train_utils._einsum_flops(  # pylint: disable=protected-access
        frozen.graph, node).value
  assert [flops._einsum_flops(frozen.graph, n) for n in nodes] == [2 * 12 * 16 * 8, 2 * 12 * 8]
  assert flops._unregistered_einsum_flops(frozen.graph) == 0


def test_uncountable_model_gives_none():
  class Subclassed(tf_keras.Model):
    def call(self, x):
      return x * 2.0
  assert train_utils.try_count_flops(Subclassed()) is None
  assert train_utils.try_count_flops(tf.Module()) is None
