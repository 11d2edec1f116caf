"""One error type for every config problem, carrying the full key path.

A nested config does not know where it sits in the tree, so errors are raised
with the local key and each parent prepends its own field name on the way up
(see `under`). The user then reads `optimizer.sgd.momentom: ...` instead of a
bare `momentom`.
"""
import contextlib
import difflib
from typing import Iterable, Sequence, Tuple


class ConfigError(ValueError):
  """A config key or value is wrong; `path` says where, `reason` says why."""

  def __init__(self, path: Sequence[str], reason: str):
    self.path: Tuple[str, ...] = tuple(str(p) for p in path)
    self.reason = reason
    super().__init__(self._message())

  def _message(self) -> str:
    key = _join(self.path)
    return f'{key}: {self.reason}' if key else self.reason

  def __str__(self) -> str:
    return self._message()

  def prefixed(self, *prefix: str) -> 'ConfigError':
    """The same error, one or more levels further up the tree."""
    return type(self)(tuple(prefix) + self.path, self.reason)


class UnknownKeyError(ConfigError, KeyError):
  """A key that the config does not declare (also a KeyError, as in TFM)."""


class ConfigTypeError(ConfigError, TypeError):
  """A value whose type does not match the declared field type."""


class LockedConfigError(ConfigError, AttributeError):
  """An assignment to a config after `lock()`."""


class RestrictionError(ConfigError, KeyError):
  """A `restrictions` relation does not hold (a KeyError, as in TFM)."""


def _join(path: Sequence[str]) -> str:
  out = ''
  for part in path:
    if part.startswith('['):
      out += part
    else:
      out += ('.' if out else '') + part
  return out


@contextlib.contextmanager
def under(*prefix: str):
  """Re-raises any ConfigError from the block with `prefix` in front of its path."""
  try:
    yield
  except ConfigError as e:
    raise e.prefixed(*prefix) from e.__cause__


def suggestion(word: str, choices: Iterable[str], kind: str = 'keys') -> str:
  """'did you mean ...? valid keys: ...' for a mistyped name."""
  choices = sorted(choices)
  close = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
  hint = f"did you mean '{close[0]}'? " if close else ''
  return f"{hint}valid {kind}: {', '.join(choices)}"


class NoSuchAttribute(AttributeError):
  """AttributeError of a config, its 'did you mean' worked out only when shown.

  Most are never shown: `getattr(config, name, default)` and `copy`'s
  probes for hooks such as `__deepcopy__` raise hundreds of them while a run
  starts, and a difflib search each cost tens of milliseconds in all.
  """

  def __init__(self, owner: str, name: str, choices):
    super().__init__(name)
    self._owner, self._word, self._choices = owner, name, choices

  def __str__(self) -> str:
    return (f"'{self._owner}' has no attribute {self._word!r}; "
            f'{suggestion(self._word, self._choices())}')


# Constructor arguments of every config that are not keys of it.
CONSTRUCTOR_ARGS = ('default_params', 'restrictions')


def unknown_key(path: Sequence[str], key: str, choices: Iterable[str]):
  """A key missing from a config whose fields are declared."""
  if key in CONSTRUCTOR_ARGS:
    return UnknownKeyError(
        tuple(path) + (key,), f"The key {key!r} does not exist: it is a "
        f'constructor argument, not a config key; {suggestion(key, choices)}')
  return UnknownKeyError(
      tuple(path) + (key,), f'unknown key; {suggestion(key, choices)}')


def missing_key(path: Sequence[str], key: str, choices: Iterable[str]):
  """A key missing from an open config (one built from a plain dict)."""
  choices = list(choices)
  known = suggestion(key, choices) if choices else 'it has no keys yet'
  return UnknownKeyError(
      tuple(path) + (key,), f'The key {key!r} does not exist; {known}; '
      'override with is_strict=False to add keys')


def reserved_key(path: Sequence[str], key: str):
  return UnknownKeyError(
      tuple(path) + (key,), f'The key {key!r} is internally reserved; '
      'it cannot be overridden')
