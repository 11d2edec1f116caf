"""What each learning-rate schedule type knows about itself, in one place, without TensorFlow.

The planning tools (the all-zero check, lint, `lr_preview`, the planned
curve in TensorBoard) need more of a schedule than its TensorFlow class:
a title, its rates in NumPy (configs are checked before TensorFlow loads),
where its decay ends, its boundaries, the steps where its shape changes (to
sample the curve) and the steps worth naming. `ScheduleFacts` holds them for
one type; `FACTS` maps type names to them. `registry.register_learning_rate`
takes a type's facts with the schedule, so a user's schedule gets the same
checks and preview as a built-in one; without facts it gets what can be read
off its fields (`decay_steps`/`total_decay_steps` as its length).

Steps here are counted after the schedule's `offset`; callers add it.
`tests/test_lr_values.py` holds every NumPy twin to its TensorFlow schedule.
"""
import dataclasses
import math
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

Points = List[Tuple[float, str]]


def _clip01(x):
  return np.clip(x, 0.0, 1.0)


def _half_cosine(p):
  return 0.5 * (1.0 + np.cos(math.pi * p))


def _constant(c, t):
  return np.full_like(t, c.learning_rate)


def _stepwise(c, t):
  passed = (t[:, None] > np.asarray(c.boundaries, np.float64)).sum(axis=1)
  return np.asarray(c.values, np.float64)[passed]


def _exponential(c, t):
  exponent = t / c.decay_steps
  if c.staircase:
    exponent = np.floor(exponent)
  return c.initial_learning_rate * np.power(c.decay_rate, exponent)


def _polynomial(c, t):
  span = np.full_like(t, float(c.decay_steps))
  if c.cycle:
    span = span * np.where(t == 0, 1.0, np.ceil(t / c.decay_steps))
  else:
    t = np.minimum(t, span)
  start, end = c.initial_learning_rate, c.end_learning_rate
  return (start - end) * np.power(1.0 - t / span, c.power) + end


def _cosine(c, t):
  t = np.minimum(t, c.decay_steps)
  return c.initial_learning_rate * (
      (1 - c.alpha) * _half_cosine(t / c.decay_steps) + c.alpha)


def _power(c, t):
  return c.initial_learning_rate * np.power(np.maximum(t, 1.0), c.power)


def _power_linear(c, t):
  rate = _power(c, t)
  span = c.total_decay_steps * c.linear_decay_fraction
  if span <= 0:
    return rate
  return np.maximum(0.0, rate * np.minimum(1.0, (c.total_decay_steps - t) / span))


def _power_with_offset(c, t):
  cap = c.pre_offset_learning_rate
  return np.minimum(np.where(t > 0, _power(c, t), cap), cap)


def _step_cosine(c, t):
  bounds, highs = list(c.boundaries), list(c.values)
  lows = highs[1:] + [0.0]
  level = (t[:, None] >= np.asarray(bounds[1:], np.float64)).sum(axis=1)
  start = np.asarray([0] + bounds[1:], np.float64)[level]
  length = np.asarray([b - a for a, b in zip(bounds, bounds[1:])] + [0], np.float64)[level]
  drop = np.asarray([h - l for h, l in zip(highs, lows)], np.float64)[level]
  return drop * _half_cosine((t - start) / length) + np.asarray(lows)[level]


_COOLDOWNS = {'linear': lambda p: 1.0 - p, 'cosine': _half_cosine,
              '1-sqrt': lambda p: 1.0 - np.sqrt(p)}


def _wsd(c, t):
  span = c.decay_steps * c.decay_fraction
  left = _COOLDOWNS[c.decay_shape](_clip01((t - (c.decay_steps - span)) / span))
  return c.initial_learning_rate * (c.alpha + (1.0 - c.alpha) * left)


def _restart_starts(c, limit: float) -> List[float]:
  """Start (in steps after the offset) of each SGDR period before `limit`."""
  starts, start, length = [], 0.0, float(c.first_decay_steps)
  while start < limit and len(starts) < 10000:
    starts.append(start)
    start, length = start + length, length * c.t_mul
  return starts


def _cosine_restarts(c, t):
  t = np.maximum(t, 0.0)
  starts = np.asarray(_restart_starts(c, float(t.max(initial=0.0)) + 1.0))
  index = np.searchsorted(starts, t, side='right') - 1
  length = c.first_decay_steps * np.power(c.t_mul, index)
  height = np.power(c.m_mul, index) * _half_cosine(_clip01((t - starts[index]) / length))
  return c.initial_learning_rate * ((1.0 - c.alpha) * height + c.alpha)


def _inverse_sqrt(c, t):
  t = np.maximum(t, 1.0)
  w = c.warmup_steps
  return c.initial_learning_rate * np.minimum(t / w, np.sqrt(w / t))


def _one_cycle_pieces(c):
  peak = float(c.max_learning_rate)
  low = peak / c.div_factor
  final = low / c.final_div_factor
  up_end, last = c.pct_start * c.decay_steps - 1, c.decay_steps - 1
  if c.three_phase:
    return [(0, up_end, low, peak), (up_end, 2 * up_end, peak, low),
            (2 * up_end, last, low, final)]
  return [(0, up_end, low, peak), (up_end, last, peak, final)]


def _one_cycle(c, t):
  def anneal(piece):
    first, last, start, end = piece
    p = _clip01((t - first) / (last - first))
    if c.anneal_strategy == 'linear':
      return start + (end - start) * p
    return end + (start - end) * _half_cosine(p)
  pieces = _one_cycle_pieces(c)
  rate = anneal(pieces[-1])
  for piece in reversed(pieces[:-1]):
    rate = np.where(t <= piece[1], anneal(piece), rate)
  return rate


def _linear(c, t):
  start, end = c.initial_learning_rate, c.end_learning_rate
  return start + (end - start) * _clip01(t / c.decay_steps)



def _lengths(c) -> List[float]:
  """The schedule's length fields that hold a positive number of steps."""
  values = (getattr(c, key, None) for key in ('decay_steps', 'total_decay_steps'))
  return [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0]


def _length_breakpoints(c, train_steps: int, repeats: bool = False) -> List[float]:
  """Each length; for a repeating one (staircase, cycle) its multiples within the run too."""
  points = []
  for value in _lengths(c):
    points.append(value)
    if repeats and train_steps / value <= 200:
      points += [k * value for k in range(2, int(train_steps / value) + 1)]
  return points


def _named_decay_end(c) -> Points:
  values = (getattr(c, key, None) for key in ('decay_steps', 'total_decay_steps'))
  return [(v, 'decay end') for v in values if isinstance(v, int) and not isinstance(v, bool)]


@dataclasses.dataclass(frozen=True)
class ScheduleFacts:
  """One schedule type's facts; each callable takes the type's config.

  Attributes:
    title: how plots and tables name the type ('Cosine decay').
    rates: f(config, steps after offset) -> float64 rates, the NumPy twin of
      the TensorFlow schedule; None when there is none (no all-zero check).
    decay_end: f(config) -> the step where the decay ends and the rate stays
      final, or None when the length is a period or there is none (lint
      warns when it is far from `train_steps`).
    boundaries: f(config) -> steps where a new value takes over (lint warns
      about those past the run).
    breakpoints: f(config, train_steps) -> steps where the curve changes
      shape; the planned curve samples each with its neighbours.
    key_points: f(config) -> (step, name) of the steps a person wants named
      in the preview (a stepwise level holds through its boundary, so its
      change is named one step later than its breakpoint).
  """
  title: str
  rates: Optional[Callable[[Any, np.ndarray], np.ndarray]] = None
  decay_end: Callable[[Any], Optional[float]] = lambda c: None
  boundaries: Callable[[Any], Sequence[int]] = lambda c: ()
  breakpoints: Callable[[Any, int], List[float]] = _length_breakpoints
  key_points: Callable[[Any], Points] = _named_decay_end


def _decay_steps(c):
  return c.decay_steps


def _restart_breakpoints(c, train_steps):
  offset = getattr(c, 'offset', 0) or 0
  return _restart_starts(c, train_steps - offset)[:200] if c.first_decay_steps > 0 else []


def _restart_key_points(c) -> Points:
  points, start, length = [], 0.0, float(c.first_decay_steps)
  for i in range(1, 6):
    start, length = start + length, length * c.t_mul
    points.append((round(start), f'restart {i}'))
  return points


FACTS: Dict[str, ScheduleFacts] = {
    'constant': ScheduleFacts('Constant', _constant),
    'stepwise': ScheduleFacts(
        'Stepwise', _stepwise, boundaries=lambda c: c.boundaries or (),
        breakpoints=lambda c, n: list(c.boundaries or ()),
        key_points=lambda c: [(b + 1, f'after boundary {b}') for b in c.boundaries]),
    'exponential': ScheduleFacts(
        'Exponential decay', _exponential,
        breakpoints=lambda c, n: _length_breakpoints(c, n, repeats=c.staircase),
        key_points=lambda c: []),
    'polynomial': ScheduleFacts(
        'Polynomial decay', _polynomial,
        decay_end=lambda c: None if c.cycle else c.decay_steps,
        breakpoints=lambda c, n: _length_breakpoints(c, n, repeats=c.cycle)),
    'cosine': ScheduleFacts('Cosine decay', _cosine, decay_end=_decay_steps),
    'power': ScheduleFacts('Power decay', _power),
    'power_linear': ScheduleFacts(
        'Power decay, linear fade', _power_linear, decay_end=lambda c: c.total_decay_steps,
        breakpoints=lambda c, n: _length_breakpoints(c, n) + [
            c.total_decay_steps * (1 - c.linear_decay_fraction)]),
    'power_with_offset': ScheduleFacts('Power decay', _power_with_offset),
    'step_cosine_with_offset': ScheduleFacts(
        'Step cosine', _step_cosine, boundaries=lambda c: c.boundaries or (),
        breakpoints=lambda c, n: list(c.boundaries or ()),
        key_points=lambda c: [(b, f'boundary {b}') for b in c.boundaries]),
    'wsd': ScheduleFacts(
        'Warmup-stable-decay', _wsd, decay_end=_decay_steps,
        breakpoints=lambda c, n: _length_breakpoints(c, n) + [
            c.decay_steps * (1 - c.decay_fraction)],
        key_points=lambda c: _named_decay_end(c) + [
            (round(c.decay_steps * (1 - c.decay_fraction)), 'cooldown start')]),
    'cosine_restarts': ScheduleFacts(
        'Cosine with restarts (SGDR)', _cosine_restarts,
        breakpoints=_restart_breakpoints, key_points=_restart_key_points),
    'inverse_sqrt': ScheduleFacts(
        'Inverse square root', _inverse_sqrt,
        breakpoints=lambda c, n: _length_breakpoints(c, n) + [c.warmup_steps],
        key_points=lambda c: [(c.warmup_steps, 'rsqrt peak')]),
    'one_cycle': ScheduleFacts(
        'One-cycle', _one_cycle, decay_end=_decay_steps,
        breakpoints=lambda c, n: _length_breakpoints(c, n) + [
            piece[1] for piece in _one_cycle_pieces(c)],
        key_points=lambda c: _named_decay_end(c) + [
            (round(c.pct_start * c.decay_steps - 1), 'cycle peak')]),
    'linear': ScheduleFacts('Linear decay', _linear, decay_end=_decay_steps),
}


def facts(kind: str) -> ScheduleFacts:
  """The facts of schedule type `kind`; for a type registered without any, what its fields say."""
  return FACTS.get(kind) or ScheduleFacts(kind)
