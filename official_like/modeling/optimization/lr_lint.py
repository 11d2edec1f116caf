"""Start-up warnings about a learning-rate plan that does not fit the run's length.

`train_steps` and the schedule's own step counts are set in different
places, and changing one without the other still "works": the run goes on
at a rate of ~0, or stops in the middle of its decay, and says nothing.
These checks read the resolved config and the planned curve (see
`lr_plan`) and log one line each, naming the keys to change. They warn
rather than fail: each can be what the user meant (a stepwise boundary
kept for a longer run, a deliberately short decay). A rate that is 0 over
the whole run is an error instead, raised when the config is resolved.

TensorFlow-free: the curve comes in as arrays.
"""
from typing import List

from absl import logging
import numpy as np

from official_like.modeling.hyperparams import Config
from official_like.modeling.optimization import lr_resolution
from official_like.modeling.optimization import schedule_facts

EARLY, LATE = 0.5, 1.5  # Decay ends outside [EARLY, LATE] * train_steps: warn.
TINY, TAIL = 1e-3, 0.25  # Below TINY * peak for more than TAIL of the run: warn.
PREFIX = 'trainer.optimizer_config.'


def _decay_end(config, train_steps: int) -> List[str]:
  kind, schedule = config.learning_rate.type, config.learning_rate.get()
  ends_at = schedule_facts.facts(kind).decay_end(schedule)
  if ends_at is None:
    return []
  offset = getattr(schedule, 'offset', 0) or 0
  end = offset + ends_at
  keys = lr_resolution.length_fields(schedule)
  where = f'{PREFIX}learning_rate.{kind}'
  where += f'.{keys[0]}={getattr(schedule, keys[0])}' if keys else ''
  if offset:
    where += f' (offset {offset})'
  tie = f'; set {keys[0]}: -1 to end it with the run' if keys else ''
  if end < EARLY * train_steps:
    return [f'{where}: the decay ends at step {end}, well before trainer.train_steps='
            f'{train_steps}; the last {train_steps - end} steps stay at its final rate' + tie]
  if end > LATE * train_steps:
    return [f'{where}: the decay ends at step {end}, well after trainer.train_steps='
            f'{train_steps}; training stops {100 * train_steps / end:.0f}% of the way '
            'through it' + tie]
  return []


def _warmup(config, train_steps: int, summary_interval: int) -> List[str]:
  warmup = config.warmup.get()
  steps = getattr(warmup, 'warmup_steps', None) or 0
  where = f'{PREFIX}warmup.{config.warmup.type}.warmup_steps={steps}'
  if steps > train_steps:
    return [f'{where} is longer than trainer.train_steps={train_steps}: the run ends '
            'inside the warmup, before the schedule starts']
  if 0 < steps < summary_interval:
    return [f'{where} is shorter than trainer.summary_interval={summary_interval}: '
            'the train run logs no point of it; the whole curve is in the '
            f'TensorBoard run lr_schedule (and trainer_main.py --mode=lr_preview)']
  return []


def _boundaries(config, train_steps: int) -> List[str]:
  kind, schedule = config.learning_rate.type, config.learning_rate.get()
  offset = getattr(schedule, 'offset', 0) or 0
  late = [b for b in schedule_facts.facts(kind).boundaries(schedule)
          if offset + b >= train_steps]
  if not late:
    return []
  return [f'{PREFIX}learning_rate.{kind}.boundaries: {late} '
          f'{"lies" if len(late) == 1 else "lie"} at or beyond trainer.train_steps='
          f'{train_steps}{f" (with offset {offset})" if offset else ""}; '
          f'the last {len(late)} value(s) are never used']


def _near_zero_tail(curve) -> List[str]:
  used = curve.steps < curve.train_steps
  steps, values = curve.steps[used], np.asarray(curve.values, np.float64)[used]
  if not steps.size or not np.all(np.isfinite(values)):
    return []
  peak = float(values.max())
  if peak <= 0:
    return []
  alive = np.nonzero(values >= TINY * peak)[0]
  start = int(steps[alive[-1] + 1]) if alive[-1] + 1 < steps.size else curve.train_steps
  tail = curve.train_steps - start
  if tail <= TAIL * curve.train_steps:
    return []
  return [f'the learning rate is below {TINY:g} x its peak ({peak:.4g}) from step '
          f'{start} on: the last {tail} of {curve.train_steps} steps '
          f'({100 * tail / curve.train_steps:.0f}%) barely train; check trainer.train_steps '
          f'against {PREFIX}learning_rate.{curve.config.learning_rate.type}']


def lint(curve, summary_interval: int) -> List[str]:
  """One line per problem of `curve` (an `lr_plan.Curve`); [] when it fits the run."""
  config, steps = curve.config, curve.train_steps
  return (_decay_end(config, steps) + _warmup(config, steps, summary_interval)
          + _boundaries(config, steps) + _near_zero_tail(curve))


def warn(params: Config, curve) -> List[str]:
  """Logs `lint`'s lines as warnings; returns them. No curve, no check."""
  lines = lint(curve, params.trainer.summary_interval) if curve is not None else []
  for line in lines:
    logging.warning('Learning rate plan: %s', line)
  return lines
