"""Lion (EvoLved Sign Momentum), legacy-API edition.

Chen et al., "Symbolic Discovery of Optimization Algorithms" (2023,
https://arxiv.org/abs/2302.06675), Algorithm 2. Lion keeps one moment (Adam
keeps two) and moves every weight by exactly `lr` per step, in the direction
of the sign of an interpolation between the moment and the new gradient:

  c = beta_1 * m + (1 - beta_1) * g
  w <- w - lr * (sign(c) + weight_decay * w)
  m <- beta_2 * m + (1 - beta_2) * g

Because every step has the same size, its learning rate is typically 3-10x
smaller than AdamW's and its weight decay 3-10x larger. The factory uses
Keras' own `Lion` when `use_legacy_optimizer=False`; both give the same
numbers (Keras applies the decay first, `w * (1 - lr * weight_decay)`, which
is the same step).
"""
import tensorflow as tf
import tf_keras

from official_like.modeling.optimization import elementwise_optimizer


@tf_keras.utils.register_keras_serializable(package='official_like')
class Lion(elementwise_optimizer.ElementwiseOptimizer):
  """Sign-of-momentum optimizer (see module doc)."""

  def __init__(self, learning_rate=1e-4, beta_1=0.9, beta_2=0.99,
               weight_decay=0.0, name='Lion', **kwargs):
    super().__init__(name, learning_rate, {
        'beta_1': beta_1, 'beta_2': beta_2, 'weight_decay': weight_decay},
                     **kwargs)

  def _create_slots(self, var_list):
    for var in var_list:
      self.add_slot(var, 'm')

  def _resource_apply_dense(self, grad, var, apply_state=None):
    c = self._coefficients(var, apply_state)
    m = self.get_slot(var, 'm')
    direction = tf.sign(c['beta_1'] * m + (1.0 - c['beta_1']) * grad)
    step = c['lr_t'] * (direction + c['weight_decay'] * var)
    var_update = var.assign_sub(step, use_locking=self._use_locking)
    with tf.control_dependencies([var_update]):  # m is read above first
      return m.assign(c['beta_2'] * m + (1.0 - c['beta_2']) * grad,
                      use_locking=self._use_locking).op
