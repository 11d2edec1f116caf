"""Adafactor: Adam-like steps with factored second moments.

Shazeer & Stern, "Adafactor: Adaptive Learning Rates with Sublinear Memory
Cost" (https://arxiv.org/abs/1804.04235), Algorithms 4 (matrices) and 5
(other tensors), with the paper's update clipping and relative step size.
TFM's `Adafactor` is only a placeholder; this is a full implementation that
takes exactly the fields of TFM's `AdafactorConfig` as keyword arguments.

One step, with `t = max(iterations - step_offset, 0) + 1` (1 on the first
step, and again on the first step after `step_offset`, so fine-tuning can
restart the second-moment schedule):

1. `beta2 = 1 - t ** -decay_rate` and `G2 = g ** 2 + epsilon1`.
2. Second moment. A variable is *factored* when `factored` is set, it has at
   least 2 dimensions and its last two dimensions are both at least
   `min_dim_size_to_factor`. Then only the row means `R` (over the last axis)
   and column means `C` (over the second-to-last) of `G2` are averaged with
   `beta2`, and `V = R C / mean(R)` (per leading index) estimates the full
   matrix: memory is `n + m` instead of `n * m`. Otherwise `V` itself is the
   `beta2` average of `G2`.
3. `U = g / sqrt(V)`, then update clipping `U /= max(1, RMS(U) / d)` with
   `d = clipping_threshold` (None: no clipping). This replaces Adam's bias
   correction and first moment as the guard against the early, unstable
   second-moment estimates.
4. Step size. The learning rate `lr` plays the paper's *relative* step size
   rho: a float, a schedule (evaluated at `iterations`, as in every Keras
   optimizer) or None for the paper's `min(1e-2, 1 / sqrt(t))`
   (`RelativeStepSize`). With `multiply_by_parameter_scale` the step is
   `alpha = lr * max(epsilon2, RMS(w))`, so each variable moves relative to
   its own scale (epsilon2 lets zero-initialised variables move); without
   it, `alpha = lr`.
5. First moment, only when `beta1` is set: `M = beta1 M + (1 - beta1) alpha U`
   and `M` replaces `alpha U` (momentum over the scaled step, as in T5 and
   fairseq).
6. Decoupled weight decay when `weight_decay` is set and the variable name
   (in full, e.g. `dense/kernel:0`; see `_names`) matches
   `include_in_weight_decay` (a regex or a list; None means every variable):
   `lr * weight_decay * w`, from the same `w` as the step, scaled by the
   relative step only, not the parameter scale.
7. `w -= alpha U` (or `M`), plus the decay.

Sparse gradients are densified: the factored statistics are means over whole
rows and columns, so there is no cheaper exact sparse update.
"""
import tensorflow as tf
import tf_keras

from official_like.modeling.optimization._dense import dense_gradient
from official_like.modeling.optimization import _names


def _step_count(iterations, step_offset, dtype):
  """The paper's t: 1-based, restarted at `step_offset`."""
  return tf.cast(tf.maximum(iterations - step_offset, 0) + 1, dtype)


def _rms(x):
  return tf.sqrt(tf.reduce_mean(tf.square(x)))


@tf_keras.utils.register_keras_serializable(package='official_like')
class RelativeStepSize(tf_keras.optimizers.schedules.LearningRateSchedule):
  """The paper's default relative step size `min(1e-2, 1 / sqrt(t))`."""

  def __init__(self, step_offset=0):
    self.step_offset = step_offset

  def __call__(self, step):
    t = _step_count(tf.cast(step, tf.int64), self.step_offset, tf.float32)
    return tf.minimum(1e-2, tf.math.rsqrt(t))

  def get_config(self):
    return {'step_offset': self.step_offset}


@tf_keras.utils.register_keras_serializable(package='official_like')
class Adafactor(tf_keras.optimizers.legacy.Optimizer):
  """Adafactor optimizer (see module doc for the exact update)."""

  _HAS_AGGREGATE_GRAD = True

  def __init__(self,
               learning_rate=None,
               name='Adafactor',
               factored=True,
               multiply_by_parameter_scale=True,
               beta1=None,
               decay_rate=0.8,
               step_offset=0,
               clipping_threshold=1.0,
               min_dim_size_to_factor=128,
               epsilon1=1e-30,
               epsilon2=1e-3,
               weight_decay=None,
               include_in_weight_decay=None,
               **kwargs):
    super().__init__(name, **kwargs)
    learning_rate = kwargs.get('lr', learning_rate)
    if learning_rate is None:
      learning_rate = RelativeStepSize(step_offset)
    self._set_hyper('learning_rate', learning_rate)
    self._set_hyper('decay', self._initial_decay)
    self.factored = factored
    self.multiply_by_parameter_scale = multiply_by_parameter_scale
    self.beta1 = beta1
    self.decay_rate = decay_rate
    self.step_offset = step_offset
    self.clipping_threshold = clipping_threshold
    self.min_dim_size_to_factor = min_dim_size_to_factor
    self.epsilon1 = epsilon1
    self.epsilon2 = epsilon2
    self.weight_decay = weight_decay
    self.include_in_weight_decay = include_in_weight_decay

  def _is_factored(self, shape):
    return (self.factored and shape.rank >= 2 and
            min(shape[-2:]) >= self.min_dim_size_to_factor)

  def _decays(self, var):
    if not self.weight_decay:
      return False
    return (self.include_in_weight_decay is None or _names.matches_any(
        _names.canonical_name(var.name), self.include_in_weight_decay))

  def _create_slots(self, var_list):
    for var in var_list:
      if self._is_factored(var.shape):
        self.add_slot(var, 'vr', shape=var.shape[:-1])
        self.add_slot(var, 'vc', shape=var.shape[:-2] + var.shape[-1:])
      else:
        self.add_slot(var, 'v')
      if self.beta1:
        self.add_slot(var, 'm')

  def _prepare_local(self, var_device, var_dtype, apply_state):
    super()._prepare_local(var_device, var_dtype, apply_state)
    t = _step_count(self.iterations, self.step_offset, var_dtype)
    one_minus_beta2 = tf.pow(t, -self.decay_rate)
    apply_state[(var_device, var_dtype)].update(
        beta2=1.0 - one_minus_beta2, one_minus_beta2=one_minus_beta2)

  def _resource_apply_dense(self, grad, var, apply_state=None):
    key = (var.device, var.dtype.base_dtype)
    c = (apply_state or {}).get(key) or self._fallback_apply_state(*key)
    grad_sq = tf.square(grad) + self.epsilon1
    assigns = []
    if self._is_factored(var.shape):
      vr = self.get_slot(var, 'vr')
      vc = self.get_slot(var, 'vc')
      new_vr = (c['beta2'] * vr +
                c['one_minus_beta2'] * tf.reduce_mean(grad_sq, axis=-1))
      new_vc = (c['beta2'] * vc +
                c['one_minus_beta2'] * tf.reduce_mean(grad_sq, axis=-2))
      assigns += [vr.assign(new_vr), vc.assign(new_vc)]
      row_scale = tf.math.rsqrt(
          new_vr / tf.reduce_mean(new_vr, axis=-1, keepdims=True))
      update = (grad * tf.expand_dims(row_scale, -1) *
                tf.expand_dims(tf.math.rsqrt(new_vc), -2))
    else:
      v = self.get_slot(var, 'v')
      new_v = c['beta2'] * v + c['one_minus_beta2'] * grad_sq
      assigns.append(v.assign(new_v))
      update = grad * tf.math.rsqrt(new_v)

    if self.clipping_threshold is not None:
      update /= tf.maximum(1.0, _rms(update) / self.clipping_threshold)
    lr = c['lr_t']
    if self.multiply_by_parameter_scale:
      update *= lr * tf.maximum(self.epsilon2, _rms(var))
    else:
      update *= lr
    if self.beta1:
      m = self.get_slot(var, 'm')
      update = self.beta1 * m + (1.0 - self.beta1) * update
      assigns.append(m.assign(update))
    if self._decays(var):
      update += lr * self.weight_decay * var
    assigns.append(var.assign_sub(update, use_locking=self._use_locking))
    return tf.group(*assigns)

  def _resource_apply_sparse(self, grad, var, indices, apply_state=None):
    return self._resource_apply_dense(dense_gradient(grad, var, indices), var, apply_state)

  def get_config(self):
    config = super().get_config()
    config.update({
        'learning_rate': self._serialize_hyperparameter('learning_rate'),
        'decay': self._serialize_hyperparameter('decay'),
        'factored': self.factored,
        'multiply_by_parameter_scale': self.multiply_by_parameter_scale,
        'beta1': self.beta1,
        'decay_rate': self.decay_rate,
        'step_offset': self.step_offset,
        'clipping_threshold': self.clipping_threshold,
        'min_dim_size_to_factor': self.min_dim_size_to_factor,
        'epsilon1': self.epsilon1,
        'epsilon2': self.epsilon2,
        'weight_decay': self.weight_decay,
        'include_in_weight_decay': self.include_in_weight_decay,
    })
    return config
