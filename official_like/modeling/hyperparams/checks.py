"""Value checks shared by every config layer, each written once.

Each raises `ConfigError` whose path is the offending field; the caller's
`under(...)` (or the config tree) adds the rest of the key path. None means
"unset" and always passes.
"""
import dataclasses
from typing import Any, Mapping

from official_like.modeling.hyperparams.base_config import Config
from official_like.modeling.hyperparams.errors import ConfigError
from official_like.modeling.hyperparams.errors import suggestion

INF = float('inf')


def in_range(key: str, value, low, high=INF, low_open=False, high_open=True) -> None:
  """Raises unless `value` lies in the interval."""
  if value is None:
    return
  ok_low = value > low if low_open else value >= low
  ok_high = value < high if high_open else value <= high
  if ok_low and ok_high:
    return
  if high == INF:
    bound = f'> {low}' if low_open else f'>= {low}'
    raise ConfigError((key,), f'must be {bound}, got {value}')
  left, right = '(' if low_open else '[', ')' if high_open else ']'
  raise ConfigError((key,), f'must be in {left}{low}, {high}{right}, got {value}')


def required(key: str, value) -> None:
  """Refuses None where a value is needed (any field accepts None, as in TFM)."""
  if value is None:
    raise ConfigError((key,), 'must be set, got null')


def positive(key: str, value) -> None:
  in_range(key, value, 0, low_open=True)


def one_of(key: str, value, choices, kind: str = 'values') -> None:
  if value not in choices:
    shown = [c for c in choices if c is not None]
    raise ConfigError((key,), f'{value!r} is not allowed; '
                      f'{suggestion(str(value), [str(c) for c in shown], kind)}')


def not_supported(config: Config, fields: Mapping[str, str]) -> None:
  """Refuses a non-default value in any of `fields` ({name: what it is}).

  TFM declares fields that official_like does not implement; they load at
  their defaults (so TFM YAML files work), but setting one is an error
  rather than a value that is silently ignored.
  """
  declared = {f.name: f for f in dataclasses.fields(config)}
  for name, what in fields.items():
    field = declared[name]
    default = (field.default if field.default is not dataclasses.MISSING
               else field.default_factory())
    value: Any = getattr(config, name)
    if value != default:
      raise ConfigError((name,), f'{value!r}: {what} is not supported by '
                        f'official_like; remove the key or set it to {default!r}')
