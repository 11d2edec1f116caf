"""The value rules of the optimization package, each written once.

Configs apply them in `validate()` and schedules when they are built, so a
rule and its message cannot drift apart between the two places. Every rule
raises `ConfigError` (a ValueError) whose path is the offending field; the
caller's `under(...)` adds the rest of the key path.
"""
import re
from typing import List, Optional, Sequence

from official_like.modeling.hyperparams import Config
from official_like.modeling.hyperparams import ConfigError
from official_like.modeling.hyperparams.checks import in_range  # pylint: disable=unused-import
from official_like.modeling.hyperparams.checks import one_of  # pylint: disable=unused-import
from official_like.modeling.hyperparams.checks import positive  # pylint: disable=unused-import


# The token a schedule's length may hold instead of a number: "end with the
# run". Resolved to `trainer.train_steps - offset` before training (see
# `lr_resolution`), so params.yaml shows the number used.
TRAIN_STEPS = -1


def ties_to_train_steps(key: str) -> bool:
  """Whether `key` is a length that may be the TRAIN_STEPS token.

  Every schedule names its length `...decay_steps` (`decay_steps`,
  `first_decay_steps`, `total_decay_steps`), so one naming rule covers the
  built-in schedules and registered ones that follow it.
  """
  return key.endswith('decay_steps')


def positive_or_train_steps(key: str, value) -> None:
  """> 0; a schedule length (`...decay_steps`) may also be the TRAIN_STEPS token."""
  if not (value == TRAIN_STEPS and ties_to_train_steps(key)):
    positive(key, value)


def unit_interval(key: str, value, high_open=False) -> None:
  """[0, 1], or [0, 1) for Adam's betas, whose 1 would divide by zero."""
  in_range(key, value, 0.0, 1.0, high_open=high_open)


def missing(config: Config) -> List[str]:
  """The fields named in `config.required` that are still None.

  A component with missing fields is a draft: a later override may fill it
  in, so only `validate()` insists on them.
  """
  return [k for k in getattr(config, 'required', ()) if getattr(config, k) is None]


def require(config: Config, what: str) -> None:
  """All the missing fields in one error: fixing them one run at a time costs a run each."""
  keys = missing(config)
  if len(keys) == 1:
    raise ConfigError((keys[0],), f'is required by {what}')
  if keys:
    raise ConfigError((), f"{', '.join(keys[:-1])} and {keys[-1]} are required by {what}")


def _strictly_increasing(boundaries: Sequence) -> None:
  b = list(boundaries)
  for i in range(1, len(b)):
    if b[i] <= b[i - 1]:
      raise ConfigError(('boundaries',), 'must be strictly increasing; '
                        f'boundaries[{i}]={b[i]} <= boundaries[{i - 1}]={b[i - 1]} in {b}')


def piecewise(boundaries: Sequence, values: Sequence) -> None:
  """`values[i]` holds up to `boundaries[i]`, so there is one value more.

  Boundaries must increase: the level is found by counting the boundaries
  passed, which equals Keras' PiecewiseConstantDecay only for sorted ones.
  """
  if len(values) != len(boundaries) + 1:
    raise ConfigError(('values',), 'must have one more entry than boundaries; '
                      f'got {len(values)} values for {len(boundaries)} boundaries')
  _strictly_increasing(boundaries)


def step_cosine(boundaries: Sequence, values: Sequence) -> None:
  """One value per boundary, at least one; a repeated boundary gives 0/0."""
  if not values or len(values) != len(boundaries):
    raise ConfigError(('values',), 'must be non-empty and have as many entries '
                      f'as boundaries; got {len(values)} values for '
                      f'{len(boundaries)} boundaries')
  _strictly_increasing(boundaries)


def clip_options(clipnorm: Optional[float], clipvalue: Optional[float],
                 global_clipnorm: Optional[float]) -> None:
  """Keras' rule: clipnorm and global_clipnorm exclude each other.

  Both Keras optimizer families refuse that pair and accept clipvalue with
  either one (the legacy optimizers apply all that are set; the new ones
  apply only the first of clipnorm, global_clipnorm, clipvalue).
  """
  for key, value in (('clipnorm', clipnorm), ('clipvalue', clipvalue),
                     ('global_clipnorm', global_clipnorm)):
    positive(key, value)
  if clipnorm is not None and global_clipnorm is not None:
    raise ConfigError(('global_clipnorm',), 'cannot be set together with '
                      f'clipnorm (Keras refuses the pair); got clipnorm={clipnorm}, '
                      f'global_clipnorm={global_clipnorm}; set one to null')


def regex_patterns(key: str, value) -> None:
  """A pattern list may be one string or a list of strings; each must compile."""
  for pattern in [value] if isinstance(value, str) else (value or ()):
    try:
      re.compile(pattern)
    except re.error as e:
      raise ConfigError((key,), f'{pattern!r} is not a valid regex: {e}') from None



def non_negative(*pairs) -> None:
  """`non_negative(('alpha', 0.1), ...)`: rates and factors below 0 make no sense."""
  for key, value in pairs:
    in_range(key, value, 0.0)


def stable_decay(decay_fraction: float, decay_shape: str, alpha: float) -> None:
  """The cooldown is a non-empty part of the run and ends at alpha * peak."""
  in_range('decay_fraction', decay_fraction, 0.0, 1.0, low_open=True,
           high_open=False)
  one_of('decay_shape', decay_shape, ('linear', 'cosine', '1-sqrt'))
  unit_interval('alpha', alpha)


def cosine_restarts(t_mul: float, m_mul: float, alpha: float) -> None:
  """Periods may not shrink: with t_mul < 1 infinitely many fit in finite time."""
  in_range('t_mul', t_mul, 1.0)
  in_range('m_mul', m_mul, 0.0)
  unit_interval('alpha', alpha)


def one_cycle(decay_steps: int, pct_start: float, anneal_strategy: str,
              three_phase: bool) -> None:
  """Every phase must span at least one step, or its slope is 0/0.

  As in PyTorch's OneCycleLR the ramp up ends at step
  `pct_start * decay_steps - 1` and, with `three_phase`, the ramp down at
  twice that; the last phase ends at `decay_steps - 1`.
  """
  in_range('pct_start', pct_start, 0.0, 1.0, low_open=True)
  one_of('anneal_strategy', anneal_strategy, ('cos', 'linear'))
  if decay_steps == TRAIN_STEPS:
    return  # Checked again once the token is resolved to a number.
  up_end = pct_start * decay_steps - 1
  if up_end <= 0:
    raise ConfigError(('pct_start',), 'leaves no step to ramp up: '
                      f'pct_start * decay_steps - 1 = {up_end:g} must be > 0 '
                      f'(decay_steps={decay_steps})')
  if three_phase and 2 * up_end >= decay_steps - 1:
    raise ConfigError(('pct_start',), 'leaves no step for the third phase: '
                      f'2 * (pct_start * decay_steps - 1) = {2 * up_end:g} must '
                      f'be < decay_steps - 1 = {decay_steps - 1}')
