"""A name -> object table that refuses duplicates and explains misses.

Both the experiment registry (by name) and the task registry (by config
class) are instances, so they fail the same way: registering a taken key is
an error, and looking up an unknown key lists what is registered.
"""
from typing import Any, Callable, Dict, Hashable, Optional

from official_like.modeling.hyperparams import ConfigError
from official_like.modeling.hyperparams.errors import suggestion


class Registry:
  """Maps keys to objects; `describe` turns a key into text for messages."""

  def __init__(self, kind: str, describe: Callable[[Hashable], str] = str):
    self._kind = kind
    self._describe = describe
    self._entries: Dict[Hashable, Any] = {}

  def register(self, key: Hashable, value: Optional[Any] = None):
    """Registers `value` under `key`; without `value`, returns a decorator."""
    def add(obj):
      if key in self._entries:
        raise ConfigError((self._kind,), f'{self._describe(key)!r} is already '
                          f'registered (to {self._entries[key]!r})')
      self._entries[key] = obj
      return obj
    return add if value is None else add(value)

  def lookup(self, key: Hashable) -> Any:
    if key not in self._entries:
      raise self.missing(key)
    return self._entries[key]

  def missing(self, key: Hashable) -> ConfigError:
    """The error for an unregistered `key`, listing what is registered."""
    name = self._describe(key)
    return ConfigError((self._kind,), f'unknown {self._kind} {name!r}; '
                       f"{suggestion(name, self.names(), self._kind + 's')}")

  def names(self):
    return sorted(self._describe(k) for k in self._entries)

  def __contains__(self, key: Hashable) -> bool:
    return key in self._entries
