"""LAMB: Adam's direction with LARS's per-layer trust ratio.

You et al., "Large Batch Optimization for Deep Learning: Training BERT in 76
minutes" (https://arxiv.org/abs/1904.00962). Adam's per-coordinate scaling
alone does not stop a large-batch learning rate from overshooting some
layers; LAMB computes the bias-corrected Adam direction
`r = m_hat / (sqrt(v_hat) + epsilon)`, adds decoupled weight decay
`weight_decay_rate * w` to it, and rescales the result per variable by
`||w|| / ||r + decay||` (see `lars.trust_ratio`), so every layer moves by
about `lr` times its own norm. Numerically identical to TFM's `LAMB`.

Weight decay is added for every name not matching
`exclude_from_weight_decay` (a zero rate simply adds nothing). Names matching
`exclude_from_layer_adaptation` (defaulting to `exclude_from_weight_decay`
when empty) take the plain `lr * update` step. As in TFM, patterns see the
name without its `:0`, e.g. `dense/kernel` (see `_names`).
"""
import tensorflow as tf
import tf_keras

from official_like.modeling.optimization import _names
from official_like.modeling.optimization import lars


@tf_keras.utils.register_keras_serializable(package='official_like')
class LAMB(tf_keras.optimizers.legacy.Optimizer):
  """Layer-wise Adaptive Moments optimizer (see module doc)."""

  _HAS_AGGREGATE_GRAD = True

  def __init__(self,
               learning_rate=0.001,
               beta_1=0.9,
               beta_2=0.999,
               epsilon=1e-6,
               weight_decay_rate=0.0,
               exclude_from_weight_decay=None,
               exclude_from_layer_adaptation=None,
               name='LAMB',
               **kwargs):
    super().__init__(name, **kwargs)
    self._set_hyper('learning_rate', kwargs.get('lr', learning_rate))
    self._set_hyper('decay', self._initial_decay)
    self._set_hyper('beta_1', beta_1)
    self._set_hyper('beta_2', beta_2)
    self._set_hyper('weight_decay_rate', weight_decay_rate)
    self.epsilon = epsilon or tf_keras.backend.epsilon()
    self.exclude_from_weight_decay = exclude_from_weight_decay
    self.exclude_from_layer_adaptation = (exclude_from_layer_adaptation or
                                          exclude_from_weight_decay)

  def _create_slots(self, var_list):
    # All "m" before all "v": the slot order of TFM's LAMB, so that
    # get_weights()/set_weights() lists line up between the two.
    for var in var_list:
      self.add_slot(var, 'm')
    for var in var_list:
      self.add_slot(var, 'v')

  def _prepare_local(self, var_device, var_dtype, apply_state):
    super()._prepare_local(var_device, var_dtype, apply_state)
    step = tf.cast(self.iterations + 1, var_dtype)
    beta_1 = tf.identity(self._get_hyper('beta_1', var_dtype))
    beta_2 = tf.identity(self._get_hyper('beta_2', var_dtype))
    apply_state[(var_device, var_dtype)].update(
        beta_1=beta_1,
        beta_2=beta_2,
        one_minus_beta_1=1 - beta_1,
        one_minus_beta_2=1 - beta_2,
        beta_1_power=tf.pow(beta_1, step),
        beta_2_power=tf.pow(beta_2, step),
        epsilon=tf.convert_to_tensor(self.epsilon, var_dtype),
        weight_decay_rate=tf.identity(
            self._get_hyper('weight_decay_rate', var_dtype)))

  def _coefficients(self, var, apply_state):
    key = (var.device, var.dtype.base_dtype)
    return (apply_state or {}).get(key) or self._fallback_apply_state(*key)

  def _step(self, var, m, v, c):
    """The amount to subtract from `var` given the updated moments."""
    m_hat = m / (1.0 - c['beta_1_power'])
    v_hat = v / (1.0 - c['beta_2_power'])
    update = m_hat / (tf.sqrt(v_hat) + c['epsilon'])
    if self._do_use_weight_decay(var.name):
      update += c['weight_decay_rate'] * var
    if not self._do_layer_adaptation(var.name):
      return c['lr_t'] * update
    return lars.trust_ratio(var, update) * c['lr_t'] * update

  def _get_variable_name(self, param_name):
    """The name patterns are matched against (TFM's helper of the same name)."""
    return _names.lamb_name(param_name)

  def _do_use_weight_decay(self, param_name):
    """False when `param_name` matches exclude_from_weight_decay."""
    return not _names.matches_any(self._get_variable_name(param_name),
                                  self.exclude_from_weight_decay)

  def _do_layer_adaptation(self, param_name):
    """False when `param_name` matches exclude_from_layer_adaptation."""
    return not _names.matches_any(self._get_variable_name(param_name),
                                  self.exclude_from_layer_adaptation)

  def _resource_apply_dense(self, grad, var, apply_state=None):
    c = self._coefficients(var, apply_state)
    m = self.get_slot(var, 'm')
    v = self.get_slot(var, 'v')
    m_t = m.assign(m * c['beta_1'] + grad * c['one_minus_beta_1'],
                   use_locking=self._use_locking)
    v_t = v.assign(v * c['beta_2'] + (grad * grad) * c['one_minus_beta_2'],
                   use_locking=self._use_locking)
    return var.assign_sub(self._step(var, m_t, v_t, c),
                          use_locking=self._use_locking)

  def _resource_apply_sparse(self, grad, var, indices, apply_state=None):
    """Same result as the dense update with zero rows: all moments decay."""
    c = self._coefficients(var, apply_state)
    m = self.get_slot(var, 'm')
    v = self.get_slot(var, 'v')
    with tf.control_dependencies(
        [m.assign(m * c['beta_1'], use_locking=self._use_locking)]):
      m_t = self._resource_scatter_add(m, indices,
                                       grad * c['one_minus_beta_1'])
    with tf.control_dependencies(
        [v.assign(v * c['beta_2'], use_locking=self._use_locking)]):
      v_t = self._resource_scatter_add(v, indices,
                                       (grad * grad) * c['one_minus_beta_2'])
    return tf.group(var.assign_sub(self._step(var, m_t, v_t, c),
                                   use_locking=self._use_locking), m_t, v_t)

  def get_config(self):
    config = super().get_config()
    config.update({
        'learning_rate': self._serialize_hyperparameter('learning_rate'),
        'decay': self._serialize_hyperparameter('decay'),
        'beta_1': self._serialize_hyperparameter('beta_1'),
        'beta_2': self._serialize_hyperparameter('beta_2'),
        'weight_decay_rate': self._serialize_hyperparameter(
            'weight_decay_rate'),
        'epsilon': self.epsilon,
        'exclude_from_weight_decay': self.exclude_from_weight_decay,
        'exclude_from_layer_adaptation': self.exclude_from_layer_adaptation,
    })
    return config
