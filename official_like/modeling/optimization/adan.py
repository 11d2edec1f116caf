"""Adan: adaptive Nesterov momentum without the extra gradient evaluation.

Xie et al., "Adan: Adaptive Nesterov Momentum Algorithm for Faster Optimizing
Deep Models" (2022, https://arxiv.org/abs/2208.06677), Algorithm 1. Nesterov
momentum needs the gradient at an extrapolated point; Adan replaces it by the
current gradient plus a multiple of the gradient's change `d_t = g_t - g_{t-1}`,
and keeps moments of both:

  m_t = beta_1 * m + (1 - beta_1) * g_t
  v_t = beta_2 * v + (1 - beta_2) * d_t
  n_t = beta_3 * n + (1 - beta_3) * (g_t + beta_2 * d_t) ** 2
  u   = (m_t / (1 - beta_1 ** t) + beta_2 * v_t / (1 - beta_2 ** t))
        / (sqrt(n_t / (1 - beta_3 ** t)) + epsilon)
  w  <- (w - lr * u) / (1 + lr * weight_decay)

The betas are decay rates (the paper's 0.02, 0.08, 0.01 are `1 - beta`), and
the bias corrections, `d_1 = 0` and the proximal (divided) weight decay are
those of the authors' reference implementation (github.com/sail-sg/Adan),
which the paper's experiments used. Weight decay applies to every variable.
"""
import tensorflow as tf
import tf_keras

from official_like.modeling.optimization import elementwise_optimizer


@tf_keras.utils.register_keras_serializable(package='official_like')
class Adan(elementwise_optimizer.ElementwiseOptimizer):
  """Adaptive Nesterov momentum (see module doc)."""

  def __init__(self, learning_rate=0.001, beta_1=0.98, beta_2=0.92,
               beta_3=0.99, epsilon=1e-8, weight_decay=0.0, name='Adan',
               **kwargs):
    super().__init__(name, learning_rate, {
        'beta_1': beta_1, 'beta_2': beta_2, 'beta_3': beta_3,
        'epsilon': epsilon, 'weight_decay': weight_decay}, **kwargs)

  def _create_slots(self, var_list):
    for slot in ('m', 'v', 'n', 'previous_gradient'):
      for var in var_list:
        self.add_slot(var, slot)

  def _prepare_local(self, var_device, var_dtype, apply_state):
    super()._prepare_local(var_device, var_dtype, apply_state)
    c = apply_state[(var_device, var_dtype)]
    for key in ('beta_1', 'beta_2', 'beta_3'):
      c[f'{key}_correction'] = 1.0 - tf.pow(c[key], c['step'])
    # The first step has no previous gradient: its change counts as zero.
    c['has_previous'] = tf.cast(c['step'] > 1.0, var_dtype)

  def _resource_apply_dense(self, grad, var, apply_state=None):
    c = self._coefficients(var, apply_state)
    m, v, n, previous = (self.get_slot(var, s)
                         for s in ('m', 'v', 'n', 'previous_gradient'))
    lock = self._use_locking
    change = c['has_previous'] * (grad - previous)
    m_t = m.assign(c['beta_1'] * m + (1.0 - c['beta_1']) * grad, use_locking=lock)
    v_t = v.assign(c['beta_2'] * v + (1.0 - c['beta_2']) * change,
                   use_locking=lock)
    n_t = n.assign(c['beta_3'] * n + (1.0 - c['beta_3']) *
                   tf.square(grad + c['beta_2'] * change), use_locking=lock)
    direction = ((m_t / c['beta_1_correction'] +
                  c['beta_2'] * v_t / c['beta_2_correction']) /
                 (tf.sqrt(n_t / c['beta_3_correction']) + c['epsilon']))
    decayed = (var - c['lr_t'] * direction) / (1.0 + c['lr_t'] * c['weight_decay'])
    var_update = var.assign(decayed, use_locking=lock)
    with tf.control_dependencies([var_update]):  # `previous` is read above first
      return previous.assign(grad, use_locking=lock).op
