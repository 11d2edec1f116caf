"""Adam with decoupled weight decay, the way the original BERT trained.

Putting `||w||^2` into the loss is not weight decay under Adam: the penalty's
gradient is divided by the second-moment estimate like any other gradient, so
weights with large gradients would barely be decayed. Instead each step first
shrinks the chosen weights directly, `w -= lr(t) * weight_decay_rate * w`
(the raw learning rate, without Adam's bias correction), and then takes the
ordinary Adam step. This reproduces TFM's `AdamWeightDecay` number for number.

Which weights decay (`_do_use_weight_decay`, TFM's rule): none when
`weight_decay_rate` is 0; otherwise a name matching `include_in_weight_decay`
always decays, else a name matching `exclude_from_weight_decay` does not,
else it does. Patterns see the full name, e.g. `dense/kernel:0` (see `_names`).

Gradient clipping happens twice, on purpose. `gradient_clip_norm` (1.0 by
default, as in BERT) clips by global norm *before* cross-replica aggregation,
so under a distribution strategy each replica clips its own gradients, and it
is skipped when the caller aggregates (`experimental_aggregate_gradients=
False`). The standard `clipnorm`, `clipvalue` and `global_clipnorm` act after
aggregation, as in every Keras optimizer.
"""
import tensorflow as tf
import tf_keras

from official_like.modeling.optimization import _names


@tf_keras.utils.register_keras_serializable(package='official_like')
class AdamWeightDecay(tf_keras.optimizers.legacy.Adam):
  """Adam whose weight decay bypasses the adaptive moments (see module doc)."""

  def __init__(self,
               learning_rate=0.001,
               beta_1=0.9,
               beta_2=0.999,
               epsilon=1e-7,
               amsgrad=False,
               weight_decay_rate=0.0,
               include_in_weight_decay=None,
               exclude_from_weight_decay=None,
               gradient_clip_norm=1.0,
               name='AdamWeightDecay',
               **kwargs):
    super().__init__(learning_rate=learning_rate, beta_1=beta_1,
                     beta_2=beta_2, epsilon=epsilon, amsgrad=amsgrad,
                     name=name, **kwargs)
    self.weight_decay_rate = weight_decay_rate
    self.include_in_weight_decay = include_in_weight_decay
    self.exclude_from_weight_decay = exclude_from_weight_decay
    self.gradient_clip_norm = gradient_clip_norm

  def apply_gradients(self, grads_and_vars, name=None,
                      experimental_aggregate_gradients=True):
    grads_and_vars = list(grads_and_vars)
    if (experimental_aggregate_gradients and self.gradient_clip_norm
        and grads_and_vars):
      grads, variables = zip(*grads_and_vars)
      grads, _ = tf.clip_by_global_norm(grads, self.gradient_clip_norm)
      grads_and_vars = list(zip(grads, variables))
    return super().apply_gradients(
        grads_and_vars, name=name,
        experimental_aggregate_gradients=experimental_aggregate_gradients)

  def _prepare_local(self, var_device, var_dtype, apply_state):
    super()._prepare_local(var_device, var_dtype, apply_state)
    apply_state[(var_device, var_dtype)]['weight_decay_rate'] = tf.cast(
        self.weight_decay_rate, var_dtype)

  def _do_use_weight_decay(self, param_name):
    """Whether the variable named `param_name` is decayed (see module doc)."""
    if not self.weight_decay_rate:
      return False
    name = _names.canonical_name(param_name)
    if _names.matches_any(name, self.include_in_weight_decay):
      return True
    return not _names.matches_any(name, self.exclude_from_weight_decay)

  def _decay_weights(self, var, apply_state):
    """Shrinks `var` in place; the Adam step must run after this."""
    if not self._do_use_weight_decay(var.name):
      return tf.no_op()
    key = (var.device, var.dtype.base_dtype)
    coefficients = ((apply_state or {}).get(key) or
                    self._fallback_apply_state(*key))
    return var.assign_sub(
        coefficients['lr_t'] * var * coefficients['weight_decay_rate'],
        use_locking=self._use_locking)

  def _resource_apply_dense(self, grad, var, apply_state=None):
    with tf.control_dependencies([self._decay_weights(var, apply_state)]):
      return super()._resource_apply_dense(grad, var, apply_state=apply_state)

  def _resource_apply_sparse(self, grad, var, indices, apply_state=None):
    with tf.control_dependencies([self._decay_weights(var, apply_state)]):
      return super()._resource_apply_sparse(
          grad, var, indices, apply_state=apply_state)

  def get_config(self):
    config = super().get_config()
    config.update({
        'weight_decay_rate': self.weight_decay_rate,
        'include_in_weight_decay': self.include_in_weight_decay,
        'exclude_from_weight_decay': self.exclude_from_weight_decay,
        'gradient_clip_norm': self.gradient_clip_norm,
    })
    return config
