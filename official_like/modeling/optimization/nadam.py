"""Nadam (Adam with Nesterov momentum) that accepts a learning-rate schedule.

Dozat, "Incorporating Nesterov Momentum into Adam" (ICLR 2016 workshop), in
the form Keras and PyTorch (`NAdam`, momentum_decay=4e-3) implement: the
momentum coefficient warms up as

  mu_t = beta_1 * (1 - 0.5 * 0.96 ** (0.004 * t))      (t = 1, 2, ...)

and with `m`, `v` Adam's moments and `P_t = mu_1 * ... * mu_t`,

  m_bar = (1 - mu_t) * g / (1 - P_t) + mu_{t+1} * m_t / (1 - P_t * mu_{t+1})
  w <- w - lr * m_bar / (sqrt(v_t / (1 - beta_2 ** t)) + epsilon)

Why not Keras' classes: the legacy `Nadam` computes exactly this but raises
when given a `LearningRateSchedule`, which the factory always passes. The new
`Nadam` of tf_keras 2.20 warms its momentum up as `0.96 ** t` (without the
0.004), and inside a `tf.function` it steps to -inf on the first step: it
counts the updates of `P_t` in a Python int, which tracing freezes. So the
factory builds this class whatever `use_legacy_optimizer` says. The product
`P_t` is kept per variable in a scalar slot: checkpointed, updated where the
variable is, and traced like any other state.
"""
import tensorflow as tf
import tf_keras

from official_like.modeling.optimization import elementwise_optimizer

_MOMENTUM_DECAY = 0.004


@tf_keras.utils.register_keras_serializable(package='official_like')
class Nadam(elementwise_optimizer.ElementwiseOptimizer):
  """Nesterov-accelerated Adam (see module doc)."""

  def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
               epsilon=1e-7, name='Nadam', **kwargs):
    super().__init__(name, learning_rate, {
        'beta_1': beta_1, 'beta_2': beta_2, 'epsilon': epsilon}, **kwargs)

  def _create_slots(self, var_list):
    for var in var_list:
      self.add_slot(var, 'm')
    for var in var_list:
      self.add_slot(var, 'v')
    for var in var_list:
      self.add_slot(var, 'momentum_product', initializer='ones', shape=[])

  def _prepare_local(self, var_device, var_dtype, apply_state):
    super()._prepare_local(var_device, var_dtype, apply_state)
    c = apply_state[(var_device, var_dtype)]

    def momentum(step):
      return c['beta_1'] * (1.0 - 0.5 * tf.pow(
          tf.cast(0.96, var_dtype), _MOMENTUM_DECAY * step))

    c.update(mu=momentum(c['step']), mu_next=momentum(c['step'] + 1.0),
             v_correction=1.0 - tf.pow(c['beta_2'], c['step']))

  def _resource_apply_dense(self, grad, var, apply_state=None):
    c = self._coefficients(var, apply_state)
    m = self.get_slot(var, 'm')
    v = self.get_slot(var, 'v')
    product = self.get_slot(var, 'momentum_product')
    lock = self._use_locking
    m_t = m.assign(c['beta_1'] * m + (1.0 - c['beta_1']) * grad, use_locking=lock)
    v_t = v.assign(c['beta_2'] * v + (1.0 - c['beta_2']) * tf.square(grad),
                   use_locking=lock)
    product_t = product.assign(product * c['mu'], use_locking=lock)
    m_bar = ((1.0 - c['mu']) * grad / (1.0 - product_t) +
             c['mu_next'] * m_t / (1.0 - product_t * c['mu_next']))
    denominator = tf.sqrt(v_t / c['v_correction']) + c['epsilon']
    return var.assign_sub(c['lr_t'] * m_bar / denominator, use_locking=lock).op
