"""LARS: momentum SGD with a learning rate scaled per layer.

You, Gitman & Ginsburg, "Large Batch Training of Convolutional Networks"
(https://arxiv.org/abs/1708.03888). With very large batches one global
learning rate is too big for some layers and too small for others, so each
variable's step is rescaled by its *trust ratio*
`eeta * ||w|| / ||g||`, which makes the step size proportional to the size of
the weights it changes. Numerically identical to TFM's `LARS`.

Per step, with `g` the gradient plus `weight_decay_rate * w` (L2 decay, unless
the name matches `exclude_from_weight_decay`):

* `classic_momentum=True`: the trust ratio is computed on `g` and the scaled
  rate goes into the momentum, `v = momentum * v + lr * ratio * g`, and
  `w -= v` (or `w -= momentum * v + lr * ratio * g` with `nesterov`).
* `classic_momentum=False`: `v = momentum * v + g`, the step direction is `v`
  (or `momentum * v + g` with `nesterov`), the trust ratio is computed on that
  direction and the rate applied afterwards.

Names matching `exclude_from_layer_adaptation` (defaulting to
`exclude_from_weight_decay` when empty) use a ratio of 1. As in TFM, patterns
see the full name, e.g. `dense/kernel:0` (see `_names`). Sparse gradients are
not supported.
"""
import tensorflow as tf
import tf_keras

from official_like.modeling.optimization import _names


def trust_ratio(var, update, coefficient=1.0):
  """`coefficient * ||var|| / ||update||`, or 1 when either norm is zero.

  A zero norm means either freshly zero-initialised weights or no signal, and
  in neither case is there a scale to adapt to, so the plain rate is used.
  LAMB shares this with LARS.
  """
  w_norm = tf.norm(var, ord=2)
  u_norm = tf.norm(update, ord=2)
  return tf.where(
      tf.greater(w_norm, 0),
      tf.where(tf.greater(u_norm, 0), coefficient * w_norm / u_norm, 1.0),
      1.0)


@tf_keras.utils.register_keras_serializable(package='official_like')
class LARS(tf_keras.optimizers.legacy.Optimizer):
  """Layer-wise Adaptive Rate Scaling (see module doc)."""

  _HAS_AGGREGATE_GRAD = True

  def __init__(self,
               learning_rate=0.01,
               momentum=0.9,
               weight_decay_rate=0.0,
               eeta=0.001,
               nesterov=False,
               classic_momentum=True,
               exclude_from_weight_decay=None,
               exclude_from_layer_adaptation=None,
               name='LARS',
               **kwargs):
    super().__init__(name, **kwargs)
    self._set_hyper('learning_rate', kwargs.get('lr', learning_rate))
    self._set_hyper('decay', self._initial_decay)
    self.momentum = momentum
    self.weight_decay_rate = weight_decay_rate
    self.eeta = eeta
    self.nesterov = nesterov
    self.classic_momentum = classic_momentum
    self.exclude_from_weight_decay = exclude_from_weight_decay
    self.exclude_from_layer_adaptation = (exclude_from_layer_adaptation or
                                          exclude_from_weight_decay)

  def _create_slots(self, var_list):
    for var in var_list:
      self.add_slot(var, 'momentum')

  def _use_weight_decay(self, param_name):
    """Whether `param_name` gets L2 decay (TFM's helper of the same name)."""
    return bool(self.weight_decay_rate) and not _names.matches_any(
        _names.canonical_name(param_name), self.exclude_from_weight_decay)

  def _do_layer_adaptation(self, param_name):
    """False when `param_name` matches exclude_from_layer_adaptation."""
    return not _names.matches_any(_names.canonical_name(param_name),
                                  self.exclude_from_layer_adaptation)

  def _ratio(self, var, update):
    if not self._do_layer_adaptation(var.name):
      return 1.0
    return trust_ratio(var, update, self.eeta)

  def _resource_apply_dense(self, grad, var, apply_state=None):
    key = (var.device, var.dtype.base_dtype)
    lr = ((apply_state or {}).get(key) or
          self._fallback_apply_state(*key))['lr_t']
    if self._use_weight_decay(var.name):
      grad += self.weight_decay_rate * var

    if self.classic_momentum:
      step = lr * self._ratio(var, grad) * grad
    else:
      step = grad
    v = self.get_slot(var, 'momentum')
    next_v = self.momentum * v + step
    update = self.momentum * next_v + step if self.nesterov else next_v
    if not self.classic_momentum:
      update = self._ratio(var, update) * lr * update
    return tf.group(var.assign(var - update, use_locking=self._use_locking),
                    v.assign(next_v, use_locking=self._use_locking))

  def get_config(self):
    config = super().get_config()
    config.update({
        'learning_rate': self._serialize_hyperparameter('learning_rate'),
        'decay': self._serialize_hyperparameter('decay'),
        'momentum': self.momentum,
        'weight_decay_rate': self.weight_decay_rate,
        'eeta': self.eeta,
        'nesterov': self.nesterov,
        'classic_momentum': self.classic_momentum,
        'exclude_from_weight_decay': self.exclude_from_weight_decay,
        'exclude_from_layer_adaptation': self.exclude_from_layer_adaptation,
    })
    return config
