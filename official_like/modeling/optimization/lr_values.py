"""The planned learning rate without TensorFlow: NumPy values and the steps worth drawing.

Why a second implementation of the schedules: a run whose rate is 0 from
start to end must be refused while the config is checked, and
`trainer_main.py` checks configs before TensorFlow is imported. These
formulas are the ones `lr_schedule` and `lr_schedule_modern` document,
evaluated in float64 over an array of steps; `tests/test_lr_values.py`
holds them to the TensorFlow schedules for every built-in type. A type
registered at run time has no NumPy twin: `rates` returns None for it and
the callers skip what needs values. Curves that are shown or written
(TensorBoard, lr_preview) come from the TensorFlow schedule itself.

`planned_steps` picks the steps at which a curve is drawn: every step of
short runs and of the warmup, each breakpoint (warmup end, boundaries,
decay ends, restarts) with its neighbours, and an even grid elsewhere,
within a budget of points.
"""
import math
from typing import Callable, Dict, List, Optional

import numpy as np

from official_like.modeling.optimization.configs import optimization_config as cfg


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


# type -> f(config, steps - offset); `power` has no offset.
SCHEDULES: Dict[str, Callable] = {
    'constant': _constant, 'stepwise': _stepwise, 'exponential': _exponential,
    'polynomial': _polynomial, 'cosine': _cosine, 'power': _power,
    'power_linear': _power_linear, 'power_with_offset': _power_with_offset,
    'step_cosine_with_offset': _step_cosine, 'wsd': _wsd,
    'cosine_restarts': _cosine_restarts, 'inverse_sqrt': _inverse_sqrt,
    'one_cycle': _one_cycle, 'linear': _linear,
}


def _schedule_rates(config: cfg.OptimizationConfig, steps: np.ndarray):
  lr = config.learning_rate
  fn = SCHEDULES.get(lr.type)
  if fn is None:
    return None
  schedule = lr.get()
  with np.errstate(all='ignore'):  # TFM's quirks give inf/NaN in places, as here.
    return fn(schedule, steps - getattr(schedule, 'offset', 0))


def rates(config: cfg.OptimizationConfig, steps) -> Optional[np.ndarray]:
  """lr(step) for each of `steps`, float64; None for a schedule registered at run time."""
  steps = np.asarray(steps, np.float64).reshape(-1)
  after = _schedule_rates(config, steps)
  warmup = config.warmup.get()
  if after is None or warmup is None:
    return after
  if config.warmup.type not in ('linear', 'polynomial'):
    return None
  w = float(warmup.warmup_steps)
  end = _schedule_rates(config, np.asarray([w]))[0]
  with np.errstate(all='ignore'):
    if config.warmup.type == 'linear':
      start = warmup.warmup_learning_rate
      ramp = start + steps / w * (end - start)
    else:
      ramp = end * np.power(np.maximum(steps, 1.0) / w, warmup.power)
  return np.where(steps < w, ramp, after)


def breakpoints(config: cfg.OptimizationConfig, train_steps: int) -> List[int]:
  """Steps where the curve changes shape: warmup end, offsets, boundaries, decay ends."""
  points = []
  warmup = config.warmup.get()
  if warmup is not None and getattr(warmup, 'warmup_steps', None):
    points.append(warmup.warmup_steps)
  c = config.learning_rate.get()
  kind = config.learning_rate.type
  offset = getattr(c, 'offset', 0) or 0
  points.append(offset)
  if kind in ('stepwise', 'step_cosine_with_offset'):
    points += [offset + b for b in c.boundaries or ()]
  for key in ('decay_steps', 'total_decay_steps'):
    value = getattr(c, key, None)
    if isinstance(value, (int, float)) and value > 0:
      points.append(offset + value)
      repeats = (kind == 'exponential' and c.staircase) or (
          kind == 'polynomial' and c.cycle)
      if repeats and train_steps / value <= 200:
        points += [offset + k * value for k in range(2, int(train_steps / value) + 1)]
  if kind == 'power_linear':
    points.append(offset + c.total_decay_steps * (1 - c.linear_decay_fraction))
  if kind == 'wsd':
    points.append(offset + c.decay_steps * (1 - c.decay_fraction))
  if kind == 'inverse_sqrt':
    points.append(offset + c.warmup_steps)
  if kind == 'one_cycle':
    points += [offset + piece[1] for piece in _one_cycle_pieces(c)]
  if kind == 'cosine_restarts' and c.first_decay_steps > 0:
    points += [offset + s for s in _restart_starts(c, train_steps - offset)[:200]]
  out = set()
  for point in points:
    for step in (math.floor(point), math.ceil(point)):
      out.update(s for s in (step - 1, step, step + 1) if 0 <= s <= train_steps)
  return sorted(out)


def planned_steps(config: cfg.OptimizationConfig, train_steps: int,
                  budget: int = 1000) -> np.ndarray:
  """Sorted int64 steps in [0, train_steps] that draw the curve exactly.

  Every step when the run has at most `budget` + 1 of them; otherwise every
  step of the warmup (at most a third of the budget, else an even grid over
  it), all breakpoints with their neighbours, and an even grid over the run
  with what is left. The default of 1000 is what TensorBoard keeps per tag
  without `--samples_per_plugin`; more points would be thinned at random.
  """
  if train_steps + 1 <= budget:
    return np.arange(train_steps + 1, dtype=np.int64)
  chosen = set(breakpoints(config, train_steps)[:budget // 3])
  warmup = config.warmup.get()
  warmup_steps = min(int(getattr(warmup, 'warmup_steps', 0) or 0), train_steps)
  if warmup_steps + 1 <= budget // 3:
    chosen.update(range(warmup_steps + 1))
  elif warmup_steps:
    chosen.update(np.linspace(0, warmup_steps, budget // 3).round().astype(int).tolist())
  chosen.update((0, train_steps - 1, train_steps))
  grid = max(budget - len(chosen), 2)
  chosen.update(np.linspace(0, train_steps, grid).round().astype(int).tolist())
  return np.asarray(sorted(chosen), np.int64)
