"""Turns the learning-rate settings into the numbers a run uses, before training.

Two conveniences TFM leaves to the user are resolved here, in place, so
params.yaml records what was run:

* a schedule length written as `-1` (`rules.TRAIN_STEPS`) becomes
  `train_steps - offset`: the schedule ends when training ends, and
  changing `trainer.train_steps` alone moves both;
* `learning_rate_scaling` multiplies every absolute rate of the schedule and
  the warmup by the batch factor (see `LearningRateScalingConfig`).

Resolving is idempotent: a resolved length is a number and is left alone,
and the scaling remembers the batch it was applied for. After that, a rate
that is 0 at every step of the run is an error (`check_rate_not_zero`),
since such a run "succeeds" without learning anything.

TensorFlow-free: `trainer_main.py` resolves and checks before importing it.
Errors carry paths relative to the OptimizationConfig; callers prefix them.
"""
import math
from typing import List, Optional

import numpy as np

from official_like.modeling.hyperparams import Config
from official_like.modeling.hyperparams import ConfigError
from official_like.modeling.optimization import lr_values
from official_like.modeling.optimization.configs import optimization_config as cfg
from official_like.modeling.optimization.configs import rules

TRAIN_STEPS = rules.TRAIN_STEPS
# Below this, a planned rate counts as 0 (no real run trains at 1e-12).
ZERO = 1e-12


def rate_fields(config: Optional[Config]) -> List[str]:
  """The fields of a schedule or warmup config that hold absolute rates.

  A class may list them in a `rates` class attribute; otherwise they are
  found by name, as every built-in config names them: `...learning_rate`
  (initial, end, max, warmup, pre-offset rates) and `values` (stepwise
  levels). Relative settings such as `alpha` or `div_factor` do not match.
  """
  if not isinstance(config, Config):
    return []
  declared = getattr(type(config), 'rates', None)
  if declared is not None:
    return list(declared)
  return [k for k in config.field_types()
          if k.endswith('learning_rate') or k == 'values']


def length_fields(config: Optional[Config]) -> List[str]:
  if not isinstance(config, Config):
    return []
  return [k for k in config.field_types() if rules.ties_to_train_steps(k)]


def unresolved(config: cfg.OptimizationConfig) -> List[str]:
  """Keys still holding the TRAIN_STEPS token, or an unapplied scaling."""
  schedule = config.learning_rate.get()
  keys = [f'learning_rate.{config.learning_rate.type}.{k}'
          for k in length_fields(schedule) if getattr(schedule, k) == TRAIN_STEPS]
  scaling = config.learning_rate_scaling
  if scaling is not None and scaling.resolved_batch_size is None:
    keys.append('learning_rate_scaling')
  return keys


def scale_factor(rule: str, ratio: float) -> float:
  return ratio if rule == 'linear' else math.sqrt(ratio)


def _scaled(value, factor: float):
  if isinstance(value, (list, tuple)):
    return type(value)(_scaled(v, factor) for v in value)
  return float(f'{value * factor:.12g}')  # 0.1 * 3 shows as 0.3, not 0.30000000000000004


def resolve(config: cfg.OptimizationConfig, train_steps: int,
            global_batch_size: Optional[int]) -> List[str]:
  """Resolves `config` in place; returns one 'key: old -> new (why)' line per change."""
  changes = []
  kind, schedule = config.learning_rate.type, config.learning_rate.get()
  for key in length_fields(schedule):
    if getattr(schedule, key) != TRAIN_STEPS:
      continue
    offset = getattr(schedule, 'offset', 0) or 0
    if train_steps - offset <= 0:
      raise ConfigError(('learning_rate', kind, key), f'is {TRAIN_STEPS} ("end '
                        f'with trainer.train_steps"), but offset={offset} leaves '
                        f'no step of the {train_steps} to decay over')
    setattr(schedule, key, train_steps - offset)
    changes.append(f'learning_rate.{kind}.{key}: {TRAIN_STEPS} -> {train_steps - offset} '
                   f'(trainer.train_steps {train_steps}'
                   f'{f" - offset {offset}" if offset else ""})')
  scaling = config.learning_rate_scaling
  if scaling is not None:
    if not global_batch_size or global_batch_size <= 0:
      raise ConfigError(('learning_rate_scaling',), 'needs a positive global train '
                        f'batch size (task.train_data.global_batch_size), got '
                        f'{global_batch_size}')
    base = scaling.base_batch_size
    factor = scale_factor(scaling.type, global_batch_size / base)
    if scaling.resolved_batch_size:
      factor /= scale_factor(scaling.type, scaling.resolved_batch_size / base)
    if abs(factor - 1.0) > 1e-12:
      why = (f'{scaling.type} scaling x{factor:.6g}: global batch {global_batch_size}, '
             f'base {base}' + (f', rates already scaled for batch '
                                f'{scaling.resolved_batch_size}'
                                if scaling.resolved_batch_size else ''))
      for name, oneof in (('learning_rate', config.learning_rate),
                          ('warmup', config.warmup)):
        part = oneof.get()
        for key in rate_fields(part):
          old = getattr(part, key)
          if old is None or _scaled(old, factor) == old:
            continue
          setattr(part, key, _scaled(old, factor))
          changes.append(f'{name}.{oneof.type}.{key}: {old} -> {getattr(part, key)} ({why})')
    scaling.resolved_batch_size = global_batch_size
  if changes:
    config.validate()  # Rules that depend on the new numbers (e.g. one_cycle's phases).
  return changes


def _culprit(config: cfg.OptimizationConfig, train_steps: int):
  """(key, why) of the setting most likely to blame for an all-zero plan."""
  kind, schedule = config.learning_rate.type, config.learning_rate.get()
  wtype, warmup = config.warmup.type, config.warmup.get()
  parts = [('learning_rate', kind, schedule), ('warmup', wtype, warmup)]
  rates = [(f'{n}.{t}.{k}', getattr(p, k)) for n, t, p in parts for k in rate_fields(p)]
  if rates and all(np.all(np.abs(np.asarray(v, np.float64)) <= ZERO)
                   for _, v in rates if v is not None):
    return rates[0][0], 'every rate of the schedule and warmup is 0'
  warmup_steps = getattr(warmup, 'warmup_steps', None) or 0
  ends = {k: getattr(schedule, k) for k in length_fields(schedule)}
  offset = getattr(schedule, 'offset', 0) or 0
  if warmup_steps >= train_steps:
    return (f'warmup.{wtype}.warmup_steps', f'the warmup ({warmup_steps} steps) '
            f'outlasts the run and ramps towards the schedule\'s rate at step '
            f'{warmup_steps}, which is 0')
  if ends:
    key, value = next(iter(ends.items()))
    return (f'learning_rate.{kind}.{key}', f'the schedule is 0 from step '
            f'{offset + value} on' + (f', before the warmup ends at step '
                                       f'{warmup_steps}' if warmup_steps else ''))
  return f'learning_rate.{kind}', 'the schedule is 0 over the run'


def check_rate_not_zero(config: cfg.OptimizationConfig, train_steps: int) -> None:
  """ConfigError when the planned rate is 0 at every step of the run.

  Steps 0 .. train_steps - 1 are the ones with an update. Schedules
  registered at run time (no NumPy twin in `lr_values`) are not checked.
  """
  steps = lr_values.planned_steps(config, max(train_steps - 1, 0), budget=4000)
  values = lr_values.rates(config, steps)
  if values is None or np.any(np.abs(values) > ZERO) or np.any(np.isnan(values)):
    return
  key, why = _culprit(config, train_steps)
  raise ConfigError(tuple(key.split('.')), f'the planned learning rate is 0 at '
                    f'every one of the {train_steps} steps (trainer.train_steps): '
                    f'{why}')
