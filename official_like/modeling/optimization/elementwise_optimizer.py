"""A base for legacy-API optimizers whose update is elementwise: Lion, Nadam, Adan.

Why the legacy API: the factory builds legacy optimizers by default
(`use_legacy_optimizer=True`, as TFM), and only those take
`gradient_aggregator`, `gradient_transformers` and the EMA wrapper. Keras
ships no legacy Lion or Adan, and its legacy Nadam refuses a learning-rate
schedule, which the factory always passes.

A subclass names its float hyperparameters once (`hypers` in `__init__`); they
become Keras hyperparameters (so they may be tensors, variables or
callables), are available per device and dtype in the coefficients `c` of
`_resource_apply_dense` (with `lr_t` and the 1-based `step`), and appear in
`get_config()`. Sparse gradients are scattered into a dense tensor and take
the dense update: for these rules every coordinate's state moves each step,
so a sparse update that skipped rows would be a different optimizer.
"""
from typing import Dict

import tensorflow as tf
import tf_keras

from official_like.modeling.optimization._dense import dense_gradient


class ElementwiseOptimizer(tf_keras.optimizers.legacy.Optimizer):
  """Hyperparameter plumbing, dense-only updates and `get_config` for subclasses."""

  _HAS_AGGREGATE_GRAD = True

  def __init__(self, name: str, learning_rate, hypers: Dict[str, float],
               **kwargs):
    super().__init__(name, **kwargs)
    self._set_hyper('learning_rate', kwargs.get('lr', learning_rate))
    self._set_hyper('decay', self._initial_decay)
    self._hyper_names = tuple(hypers)
    for key, value in hypers.items():
      self._set_hyper(key, value)

  def _prepare_local(self, var_device, var_dtype, apply_state):
    super()._prepare_local(var_device, var_dtype, apply_state)
    coefficients = apply_state[(var_device, var_dtype)]
    coefficients['step'] = tf.cast(self.iterations + 1, var_dtype)
    for key in self._hyper_names:
      coefficients[key] = tf.identity(self._get_hyper(key, var_dtype))

  def _coefficients(self, var, apply_state):
    key = (var.device, var.dtype.base_dtype)
    return (apply_state or {}).get(key) or self._fallback_apply_state(*key)

  def _resource_apply_sparse(self, grad, var, indices, apply_state=None):
    return self._resource_apply_dense(dense_gradient(grad, var, indices), var, apply_state)

  def get_config(self):
    config = super().get_config()
    config['learning_rate'] = self._serialize_hyperparameter('learning_rate')
    config['decay'] = self._serialize_hyperparameter('decay')
    for key in self._hyper_names:
      config[key] = self._serialize_hyperparameter(key)
    return config
