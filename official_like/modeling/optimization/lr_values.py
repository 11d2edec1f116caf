"""The planned learning rate without TensorFlow: NumPy values and the steps worth drawing.

Why a second implementation of the schedules: a run whose rate is 0 from
start to end must be refused while the config is checked, and
`trainer_main.py` checks configs before TensorFlow is imported. Each
schedule type's NumPy twin is one of its `schedule_facts`; this module adds
the warmup. A type registered without a twin gives None and the callers
skip what needs values. Curves that are shown or written (TensorBoard,
lr_preview) come from the TensorFlow schedule itself.

`planned_steps` picks the steps at which a curve is drawn: every step of
short runs and of the warmup, each breakpoint (warmup end, boundaries,
decay ends, restarts) with its neighbours, and an even grid elsewhere,
within a budget of points.
"""
import math
from typing import List, Optional

import numpy as np

from official_like.modeling.optimization import schedule_facts
from official_like.modeling.optimization.configs import optimization_config as cfg


def _schedule_rates(config: cfg.OptimizationConfig, steps: np.ndarray):
  rates_fn = schedule_facts.facts(config.learning_rate.type).rates
  if rates_fn is None:
    return None
  schedule = config.learning_rate.get()
  with np.errstate(all='ignore'):  # TFM's quirks give inf/NaN in places, as here.
    return rates_fn(schedule, steps - (getattr(schedule, 'offset', 0) or 0))


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
  """Steps where the curve changes shape: warmup end, offset, and the schedule's own."""
  points = []
  warmup = config.warmup.get()
  if warmup is not None and getattr(warmup, 'warmup_steps', None):
    points.append(warmup.warmup_steps)
  c = config.learning_rate.get()
  offset = getattr(c, 'offset', 0) or 0
  points.append(offset)
  points += [offset + p for p in
             schedule_facts.facts(config.learning_rate.type).breakpoints(c, train_steps)]
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
