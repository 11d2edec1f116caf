"""Learning-rate schedules and warmups, numerically equal to TFM 2.20's.

Class names and keyword arguments are those of
`official.modeling.optimization.lr_schedule`, so configs written for TFM build
the same schedules here. Each formula keeps TFM's (and Keras') operation
order, because float32 rounding depends on it: called with the same step, a
schedule returns TFM's float32 value bit for bit. (Inside a `tf.function`,
Grappler may rewrite either graph, e.g. `x / c` into `x * (1 / c)`, which can
move a value by an ulp.)

Every schedule is a pure function of the step: nothing is computed or cached
at construction, so a schedule built eagerly can be called inside any
`tf.function` or replica context. `lr(steps)` also accepts a tensor of steps,
as branches are picked with `tf.where`, never `tf.cond`/`tf.case` (TF's SIMD
kernels may then differ from one-step calls by an ulp). Results are always
float32, even when hyperparameters arrive as Python ints.

Each class is a dataclass whose fields are its constructor arguments; that
single list drives `__init__`, `get_config` and `from_config`, and all classes
are registered for Keras serialization under the package `official_like`.
The four `...WithOffset` classes that wrap a Keras schedule name it in
`base_lr_class`, as TFM's do: `cls(offset=k, **kw)(step)` equals
`cls.base_lr_class(**kw)(step - k)`.
"""
import dataclasses
import math
from typing import Any, Optional, Sequence, Union

import tensorflow as tf
import tf_keras

from official_like.modeling.optimization.configs import rules

_keras_schedules = tf_keras.optimizers.schedules
LearningRateSchedule = _keras_schedules.LearningRateSchedule


def _schedule(cls):
  """Makes `cls` a Keras-serializable dataclass.

  `eq=False` keeps identity hashing, which Keras and tf.function rely on.
  The generated `__init__` gets a docstring, so help() explains the
  arguments instead of showing none.
  """
  cls = dataclasses.dataclass(eq=False)(cls)
  cls.__init__.__doc__ = _init_doc(cls)
  return tf_keras.utils.register_keras_serializable(package='official_like')(
      cls)


def _init_doc(cls) -> str:
  names = ', '.join(f.name for f in dataclasses.fields(cls))
  doc = (f'Stores the arguments ({names}) and computes nothing, so the '
         'schedule can be built eagerly and called inside any tf.function.')
  base = cls.__dict__.get('base_lr_class')
  if base is not None:
    doc += (f" Takes the arguments of Keras' `{base.__name__}` plus `offset`; "
            f'`lr(step)` is `{base.__name__}(...)(step - offset)`.')
  return doc


def _f32(value):
  return tf.cast(value, tf.float32)


def _power_law(initial_learning_rate, step, power):
  """`initial_learning_rate * max(step, 1) ** power`; the clamp avoids 0 ** -p."""
  return _f32(initial_learning_rate) * tf.pow(tf.maximum(step, 1.0), power)


class _Schedule(LearningRateSchedule):
  """A schedule whose config is exactly its dataclass fields."""

  def get_config(self) -> dict[str, Any]:
    return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


class _ShiftedSchedule(_Schedule):
  """`lr(step) = self._decay(float32(step - offset))`.

  The one place where `offset` is applied. Like TFM, the offset is subtracted
  in the step's own dtype before the cast to float32, so integer steps stay
  exact beyond 2**24. Classes without an `offset` field use the class-level 0.
  """

  offset = 0

  def __call__(self, step):
    with tf.name_scope(self.name or type(self).__name__):
      return self._decay(_f32(step - self.offset))

  def _decay(self, step):
    raise NotImplementedError


@_schedule
class ConstantLearningRate(_ShiftedSchedule):
  """A fixed learning rate.

  TFM's factory returns a bare float for the `constant` type; a schedule lets
  callers always write `lr(step)`, and warmups treat it exactly like that float.
  """

  learning_rate: float
  name: str = 'Constant'

  def _decay(self, step):
    return tf.fill(tf.shape(step), _f32(self.learning_rate))


@_schedule
class PiecewiseConstantDecayWithOffset(_ShiftedSchedule):
  """`values[i]` for `boundaries[i-1] < step - offset <= boundaries[i]`.

  Boundaries must be increasing; they are compared in float32, as Keras does.
  """

  base_lr_class = _keras_schedules.PiecewiseConstantDecay
  boundaries: Sequence[Union[int, float]]
  values: Sequence[float]
  offset: int = 0
  name: Optional[str] = None

  def __post_init__(self):
    rules.piecewise(self.boundaries, self.values)

  def _decay(self, step):
    passed = tf.expand_dims(step, -1) > _f32(self.boundaries)
    index = tf.reduce_sum(tf.cast(passed, tf.int32), axis=-1)
    return tf.gather(_f32(self.values), index)


@_schedule
class PolynomialDecayWithOffset(_ShiftedSchedule):
  """Keras' `PolynomialDecay` of `step - offset`.

  With `cycle`, the decay restarts at every multiple of `decay_steps`; before
  the offset it then yields -inf or NaN, as TFM does (warmup usually hides it).
  Exactly at a multiple, eager mode gives `end_learning_rate`, but in a graph
  Grappler turns `step / decay_steps` into `step * (1 / decay_steps)`, `ceil`
  can overshoot, and the rate jumps up a step early -- in TFM and Keras alike.
  """

  base_lr_class = _keras_schedules.PolynomialDecay
  initial_learning_rate: float
  decay_steps: int
  end_learning_rate: float = 0.0001
  power: float = 1.0
  cycle: bool = False
  offset: int = 0
  name: Optional[str] = None

  def _decay(self, step):
    start = _f32(self.initial_learning_rate)
    end = _f32(self.end_learning_rate)
    decay_steps = _f32(self.decay_steps)
    if self.cycle:
      cycles = tf.where(step == 0, 1.0, tf.math.ceil(step / decay_steps))
      decay_steps = decay_steps * cycles
    else:
      step = tf.minimum(step, decay_steps)
    fraction = step / decay_steps
    return (start - end) * tf.pow(1 - fraction, _f32(self.power)) + end


@_schedule
class ExponentialDecayWithOffset(_ShiftedSchedule):
  """Keras' `ExponentialDecay` of `step - offset`; `staircase=None` is False."""

  base_lr_class = _keras_schedules.ExponentialDecay
  initial_learning_rate: float
  decay_steps: int
  decay_rate: float
  staircase: Optional[bool] = False
  offset: int = 0
  name: Optional[str] = None

  def _decay(self, step):
    exponent = step / _f32(self.decay_steps)
    if self.staircase:
      exponent = tf.floor(exponent)
    return _f32(self.initial_learning_rate) * tf.pow(
        _f32(self.decay_rate), exponent)


@_schedule
class CosineDecayWithOffset(_ShiftedSchedule):
  """Keras' `CosineDecay` of `step - offset`, down to `alpha * peak`.

  TFM forwards any Keras `CosineDecay` argument, so Keras' own linear warmup
  (`initial_learning_rate` -> `warmup_target` over `warmup_steps`, then decay
  from `warmup_target`) is supported too. Before the offset the cosine mirrors
  itself, i.e. the rate rises towards the peak.
  """

  base_lr_class = _keras_schedules.CosineDecay
  initial_learning_rate: float
  decay_steps: int
  alpha: float = 0.0
  offset: int = 0
  name: Optional[str] = None
  warmup_target: Optional[float] = None
  warmup_steps: int = 0

  def _decay(self, step):
    start = _f32(self.initial_learning_rate)
    decay_steps = _f32(self.decay_steps)
    if self.warmup_target is None:
      return self._cosine(tf.minimum(step, decay_steps), decay_steps, start)
    target = _f32(self.warmup_target)
    warmup_steps = _f32(self.warmup_steps)
    step = tf.minimum(step, decay_steps + warmup_steps)
    ramp = (target - start) * (step / warmup_steps) + start
    decayed = self._cosine(step - warmup_steps, decay_steps, target)
    return tf.where(step < warmup_steps, ramp, decayed)

  def _cosine(self, step, decay_steps, peak):
    pi = tf.constant(math.pi, tf.float32)
    cosine = 0.5 * (1.0 + tf.cos(pi * (step / decay_steps)))
    return peak * ((1 - self.alpha) * cosine + self.alpha)


@_schedule
class DirectPowerDecay(_ShiftedSchedule):
  """`initial_learning_rate * max(step, 1) ** power` (no offset)."""

  initial_learning_rate: float
  power: float = 1.0
  name: str = 'DirectPowerDecay'

  def _decay(self, step):
    return _power_law(self.initial_learning_rate, step, self.power)


@_schedule
class PowerAndLinearDecay(_ShiftedSchedule):
  """Power decay of `t = step - offset`, faded linearly to 0 at the end.

  Over the last `linear_decay_fraction * total_decay_steps` steps the power
  law is multiplied by `(total_decay_steps - t) / that span`; from
  `total_decay_steps` on the rate is 0. A non-positive span disables the fade.
  """

  initial_learning_rate: float
  total_decay_steps: int
  power: float = 1.0
  linear_decay_fraction: float = 0.1
  offset: int = 0
  name: str = 'PowerAndLinearDecay'

  def _decay(self, step):
    rate = _power_law(self.initial_learning_rate, step, self.power)
    span = self.total_decay_steps * self.linear_decay_fraction
    if span <= 0:
      return rate
    fade = tf.minimum(1.0, (self.total_decay_steps - step) / span)
    return tf.maximum(0.0, rate * fade)


@_schedule
class PowerDecayWithOffset(_ShiftedSchedule):
  """Power decay of `step - offset`, `pre_offset_learning_rate` until then.

  As in TFM the step equal to `offset` still gets `pre_offset_learning_rate`
  (1e6 by default, so pair it with a warmup), and every value is capped at it.
  """

  initial_learning_rate: float
  power: float = 1.0
  offset: int = 0
  pre_offset_learning_rate: float = 1.0e6
  name: str = 'PowerDecayWithOffset'

  def _decay(self, step):
    cap = _f32(self.pre_offset_learning_rate)
    decayed = _power_law(self.initial_learning_rate, step, self.power)
    return tf.minimum(tf.where(step > 0, decayed, cap), cap)


@_schedule
class StepCosineDecayWithOffset(_ShiftedSchedule):
  """A chain of half-cosines: level `i` falls from `values[i]` to `values[i+1]`.

  Level `i >= 1` starts at `boundaries[i]` and lasts until the next boundary;
  the last level falls to 0. TFM quirks kept for equal numbers: level 0 is
  timed from step 0 (`boundaries[0]` only sets its length), and the last level
  has length 0, so from the last boundary on the rate is NaN.
  """

  boundaries: Sequence[Union[int, float]]
  values: Sequence[float]
  offset: int = 0
  name: str = 'StepCosineDecayWithOffset'

  def __post_init__(self):
    rules.step_cosine(self.boundaries, self.values)

  def _decay(self, step):
    bounds, highs = list(self.boundaries), list(self.values)
    lows = highs[1:] + [0.0]
    level = tf.reduce_sum(tf.cast(
        tf.expand_dims(step, -1) >= _f32(bounds[1:]), tf.int32), axis=-1)

    def per_level(numbers):
      return tf.gather(tf.constant(numbers, tf.float32), level)

    start = per_level([0] + bounds[1:])
    length = per_level([b - a for a, b in zip(bounds, bounds[1:])] + [0])
    drop = per_level([hi - lo for hi, lo in zip(highs, lows)])
    phase = tf.constant(math.pi, tf.float32) * (step - start) / length
    return drop * (tf.cos(phase) + 1.0) / 2.0 + per_level(lows)


class _Warmup(_Schedule):
  """Replaces the first `warmup_steps` steps of `after_warmup_lr_sched`.

  The ramp ends at `after_warmup_lr_sched(warmup_steps)`, and from that step
  on the wrapped schedule runs unchanged, so warmup never delays the decay.
  A float (or `ConstantLearningRate`) stands for a constant rate.
  """

  def __call__(self, step):
    with tf.name_scope(self.name or type(self).__name__):
      after = self.after_warmup_lr_sched
      if not isinstance(after, LearningRateSchedule):
        after = ConstantLearningRate(after)
      step_f = _f32(step)
      warmup_steps = _f32(self.warmup_steps)
      ramp = self._ramp(step_f, warmup_steps, after(self.warmup_steps))
      return tf.where(step_f < warmup_steps, ramp, after(step))

  def get_config(self) -> dict[str, Any]:
    config = super().get_config()
    if isinstance(self.after_warmup_lr_sched, LearningRateSchedule):
      config['after_warmup_lr_sched'] = _keras_schedules.serialize(
          self.after_warmup_lr_sched)
    return config

  @classmethod
  def from_config(cls, config):
    config = dict(config)
    if isinstance(config['after_warmup_lr_sched'], dict):
      config['after_warmup_lr_sched'] = _keras_schedules.deserialize(
          config['after_warmup_lr_sched'])
    return cls(**config)

  def _ramp(self, step, warmup_steps, end):
    raise NotImplementedError


@_schedule
class LinearWarmup(_Warmup):
  """Linear ramp from `warmup_learning_rate` (at step 0)."""

  after_warmup_lr_sched: Union[LearningRateSchedule, float]
  warmup_steps: int
  warmup_learning_rate: float
  name: Optional[str] = None

  def _ramp(self, step, warmup_steps, end):
    start = self.warmup_learning_rate
    return start + step / warmup_steps * (end - start)


@_schedule
class PolynomialWarmUp(_Warmup):
  """`end * (max(step, 1) / warmup_steps) ** power`.

  Step 0 is clamped to 1 (as in TFM), so training never starts at rate 0.
  """

  after_warmup_lr_sched: Union[LearningRateSchedule, float]
  warmup_steps: int
  power: float = 1.0
  name: str = 'PolynomialWarmup'

  def _ramp(self, step, warmup_steps, end):
    return end * tf.pow(tf.maximum(step, 1.0) / warmup_steps, self.power)
