"""Schedules TFM lacks and today's recipes use: WSD, SGDR, rsqrt, one-cycle, linear.

They follow the conventions of `lr_schedule`: each is a dataclass whose fields
are its constructor arguments and its `get_config()`, registered for Keras
serialization; `lr(step)` is a pure TensorFlow function of `t = step - offset`
(ints, floats, tensors of steps, eagerly or in a `tf.function`) and always
float32. Branches are `tf.where`, never Python `if` on the step.

Unlike TFM's `CosineDecayWithOffset`, none of these extrapolates before the
offset or past the end: `t < 0` gives the value at `t = 0` and the last value
holds after the schedule ends. That is what a `warmup` wrapped around them
and an offset equal to the warmup length need: the ramp ends at `lr(warmup)`,
the schedule's start.

Formulas (`peak` is `initial_learning_rate`, `T` is `decay_steps`):

* `StableDecayWithOffset` (`wsd`): `peak` until `T * (1 - decay_fraction)`,
  then `peak * (alpha + (1 - alpha) * s(p))` with `p` going 0 -> 1 over the
  last `T * decay_fraction` steps and `s(p) = 1 - p` (linear),
  `(1 + cos(pi p)) / 2` (cosine) or `1 - sqrt(p)` (1-sqrt).
* `CosineDecayRestartsWithOffset` (`cosine_restarts`): SGDR, Keras' formula;
  period `i` lasts `first_decay_steps * t_mul ** i` and
  `lr = peak * ((1 - alpha) * m_mul ** i * (1 + cos(pi f)) / 2 + alpha)`,
  `f` the fraction of period `i` done (the floor `alpha * peak` does not
  shrink with `m_mul`).
* `InverseSqrtDecayWithOffset` (`inverse_sqrt`): the normalised Transformer
  schedule `peak * min(t / w, sqrt(w / t))`, `w = warmup_steps`, `t` clamped to
  >= 1. Vaswani et al.'s `d_model ** -0.5 * min(t ** -0.5, t * w ** -1.5)` is
  this with `peak = (d_model * w) ** -0.5`.
* `OneCycleWithOffset` (`one_cycle`): PyTorch's OneCycleLR. From
  `max / div_factor` up to `max` at step `pct_start * T - 1`, then down to
  `max / (div_factor * final_div_factor)` at `T - 1` (with `three_phase`,
  first back to the start value at `2 * (pct_start * T - 1)`); each piece
  anneals as `end + (start - end) * (1 + cos(pi p)) / 2` (cos) or
  `start + (end - start) * p` (linear).
* `LinearDecayWithOffset` (`linear`):
  `peak + (end_learning_rate - peak) * min(t / T, 1)`.
"""
import math
from typing import Optional

import tensorflow as tf

from official_like.modeling.optimization.configs import rules
from official_like.modeling.optimization.lr_schedule import _f32
from official_like.modeling.optimization.lr_schedule import _schedule
from official_like.modeling.optimization.lr_schedule import _ShiftedSchedule

_PI = math.pi
# Relative slack (4 float32 ulps) for a step to count as a restart.
_SNAP = 2.0**-22


def _progress(step, start, length):
  """0 before `start`, 1 from `start + length` on, linear in between."""
  return tf.clip_by_value((step - start) / length, 0.0, 1.0)


def _half_cosine(p):
  """1 at p = 0, 0 at p = 1, flat at both ends."""
  return 0.5 * (1.0 + tf.cos(_PI * p))


_COOLDOWNS = {
    'linear': lambda p: 1.0 - p,
    'cosine': _half_cosine,
    '1-sqrt': lambda p: 1.0 - tf.sqrt(p),
}


@_schedule
class StableDecayWithOffset(_ShiftedSchedule):
  """Warmup-stable-decay, without the warmup (the `warmup` config adds it).

  A constant peak keeps every checkpoint of the stable phase a good start for
  a short cooldown, so one long run serves many training lengths (Hägele et
  al. 2024, "Scaling Laws and Compute-Optimal Training Beyond Fixed Training
  Durations"; MiniCPM). 1-sqrt is the cooldown they found best.
  """

  initial_learning_rate: float
  decay_steps: int
  decay_fraction: float = 0.1
  decay_shape: str = 'linear'
  alpha: float = 0.0
  offset: int = 0
  name: Optional[str] = None

  def __post_init__(self):
    rules.stable_decay(self.decay_fraction, self.decay_shape, self.alpha)

  def _decay(self, step):
    total = _f32(self.decay_steps)
    start = total - total * self.decay_fraction
    # Length total - start, not the rounded span: at step == total, p is x / x == 1
    # exactly, so the cooldown ends at 0 (not 6e-8 * peak).
    left = _COOLDOWNS[self.decay_shape](_progress(step, start, total - start))
    return _f32(self.initial_learning_rate) * (
        self.alpha + (1.0 - self.alpha) * left)


@_schedule
class CosineDecayRestartsWithOffset(_ShiftedSchedule):
  """SGDR (Loshchilov & Hutter 2017): cosine periods with warm restarts.

  Same values as Keras' `CosineDecayRestarts` of `step - offset`, except at
  the restarts themselves: Keras finds the period with a float32 log, which
  can put a restart step in the period before (rate `alpha * peak` instead of
  the new peak); here the period found is checked against its start, and a
  step within 4 float32 ulps below a restart counts as the restart.
  """

  initial_learning_rate: float
  first_decay_steps: int
  t_mul: float = 2.0
  m_mul: float = 1.0
  alpha: float = 0.0
  offset: int = 0
  name: Optional[str] = None

  def __post_init__(self):
    rules.cosine_restarts(self.t_mul, self.m_mul, self.alpha)

  def _decay(self, step):
    step = tf.maximum(step, 0.0)
    first = _f32(self.first_decay_steps)
    if self.t_mul == 1.0:
      # The remainder of the step itself, not of step / first: exact while
      # the step is (below 2**24), so late periods keep their phase.
      within = tf.math.floormod(step, first)
      index = tf.round((step - within) / first)
      done = within / first
    else:
      t_mul = _f32(self.t_mul)
      periods = step / first

      def start_of(i):  # first-period units before period i: a geometric sum
        return (tf.pow(t_mul, i) - 1.0) / (t_mul - 1.0)

      def started(i):  # float32 `pow` may put a restart an ulp late: snap
        return tf.where(periods >= start_of(i) * (1.0 - _SNAP), 1.0, 0.0)

      guess = tf.floor(tf.math.log1p(periods * (t_mul - 1.0)) / tf.math.log(t_mul))
      index = guess + started(guess + 1.0) - (1.0 - started(guess))
      done = tf.clip_by_value(
          (periods - start_of(index)) / tf.pow(t_mul, index), 0.0, 1.0)
    height = tf.pow(_f32(self.m_mul), index) * _half_cosine(done)
    return _f32(self.initial_learning_rate) * (
        (1.0 - self.alpha) * height + self.alpha)


@_schedule
class InverseSqrtDecayWithOffset(_ShiftedSchedule):
  """The Transformer's schedule (Vaswani et al. 2017), scaled to peak at 1x.

  Linear rise to `initial_learning_rate` at `warmup_steps`, then decay as
  `1 / sqrt(t)`: the rate fairseq and T5 train with. Written with its peak
  rather than `d_model`, so it reads like every other schedule. Step 0 is
  clamped to 1, so the first update is not wasted on a zero rate.
  """

  initial_learning_rate: float
  warmup_steps: int
  offset: int = 0
  name: Optional[str] = None

  def _decay(self, step):
    step = tf.maximum(step, 1.0)
    warmup = _f32(self.warmup_steps)
    return _f32(self.initial_learning_rate) * tf.minimum(
        step / warmup, tf.sqrt(warmup / step))


@_schedule
class OneCycleWithOffset(_ShiftedSchedule):
  """Smith's one-cycle policy as PyTorch's `OneCycleLR` computes it.

  A short climb to a high rate regularises and speeds up training (Smith &
  Topin 2017, "Super-Convergence"); the long descent ends far below the
  start. PyTorch stops with an error after `decay_steps`; here the final
  rate holds. Momentum cycling, the other half of PyTorch's scheduler, is the
  optimizer's business and is not done.
  """

  max_learning_rate: float
  decay_steps: int
  pct_start: float = 0.3
  div_factor: float = 25.0
  final_div_factor: float = 1e4
  anneal_strategy: str = 'cos'
  three_phase: bool = False
  offset: int = 0
  name: Optional[str] = None

  def __post_init__(self):
    rules.one_cycle(self.decay_steps, self.pct_start, self.anneal_strategy,
                    self.three_phase)

  def _pieces(self):
    """(start step, end step, start rate, end rate) of each phase, in Python."""
    peak = float(self.max_learning_rate)
    low = peak / self.div_factor
    final = low / self.final_div_factor
    up_end = self.pct_start * self.decay_steps - 1
    last = self.decay_steps - 1
    if self.three_phase:
      return [(0, up_end, low, peak), (up_end, 2 * up_end, peak, low),
              (2 * up_end, last, low, final)]
    return [(0, up_end, low, peak), (up_end, last, peak, final)]

  def _anneal(self, step, piece):
    first, last, start, end = piece
    p = _progress(step, float(first), float(last - first))
    if self.anneal_strategy == 'linear':
      return start + (end - start) * p
    return end + (start - end) * _half_cosine(p)

  def _decay(self, step):
    pieces = self._pieces()
    rate = self._anneal(step, pieces[-1])
    for piece in reversed(pieces[:-1]):  # a phase owns its end step, as in PyTorch
      rate = tf.where(step <= piece[1], self._anneal(step, piece), rate)
    return rate


@_schedule
class LinearDecayWithOffset(_ShiftedSchedule):
  """A straight line from `initial_learning_rate` to `end_learning_rate`.

  TFM's `polynomial` with `power: 1` comes close, but ends at 1e-4 by default
  and rises above the start before its offset; this one ends at 0 by default
  and is flat outside `[0, decay_steps]`.
  """

  initial_learning_rate: float
  decay_steps: int
  end_learning_rate: float = 0.0
  offset: int = 0
  name: Optional[str] = None

  def _decay(self, step):
    start = _f32(self.initial_learning_rate)
    end = _f32(self.end_learning_rate)
    return start + (end - start) * _progress(step, 0.0, _f32(self.decay_steps))
