"""Name -> object tables that refuse duplicates and explain misses.

`register`/`lookup` work on a plain dict, with TFM's hierarchical string keys
(`'model/exp/config'` is stored as nested dicts). `Registry` wraps one such
dict for the experiment and task registries, so both fail the same way:
registering a taken key, or looking up an unknown one, raises a
`RegistryError` that lists what is registered (a KeyError, as TFM raises).
"""
from typing import Any, Callable, Dict, Hashable, Optional

from official_like.modeling.hyperparams import ConfigError
from official_like.modeling.hyperparams.errors import suggestion


class RegistryError(ConfigError, KeyError):
  """A taken or unknown registry key (a LookupError too, through KeyError)."""


def _path(key: Hashable):
  return key.split('/') if isinstance(key, str) else [key]


def register(collection: Dict, key: Hashable) -> Callable:
  """Decorator storing its target in `collection` under `key`."""
  def add(obj):
    *parents, leaf = _path(key)
    node = collection
    for name in parents:
      node = node.setdefault(name, {})
      if not isinstance(node, dict):
        raise RegistryError((), f'{name!r} in {key!r} is already registered '
                            'as an entry, not a group')
    if leaf in node:
      raise RegistryError((), f'{leaf!r} is already registered (to {node[leaf]!r})')
    node[leaf] = obj
    return obj
  return add


def lookup(collection: Dict, key: Hashable) -> Any:
  """The object registered in `collection` under `key`."""
  node = collection
  for name in _path(key):
    if not isinstance(node, dict) or name not in node:
      raise RegistryError((), f'{name!r} (in {key!r}) is not registered; '
                          'is the module that registers it imported?')
    node = node[name]
  return node


class Registry:
  """One kind of entries; `describe` turns a key into text for messages."""

  def __init__(self, kind: str, describe: Callable[[Hashable], str] = str):
    self._kind = kind
    self._describe = describe
    self._entries: Dict[Hashable, Any] = {}

  def register(self, key: Hashable, value: Optional[Any] = None):
    """Registers `value` under `key`; without `value`, returns a decorator."""
    def add(obj):
      if key in self._entries:
        raise RegistryError((self._kind,), f'{self._describe(key)!r} is already '
                            f'registered (to {self._entries[key]!r})')
      self._entries[key] = obj
      return obj
    return add if value is None else add(value)

  def lookup(self, key: Hashable) -> Any:
    if key not in self._entries:
      raise self.missing(key)
    return self._entries[key]

  def missing(self, key: Hashable) -> RegistryError:
    """The error for an unregistered `key`, listing what is registered."""
    name = self._describe(key)
    return RegistryError((self._kind,), f'unknown {self._kind} {name!r}; '
                         f"{suggestion(name, self.names(), self._kind + 's')}")

  def names(self):
    return sorted(self._describe(k) for k in self._entries)

  def __contains__(self, key: Hashable) -> bool:
    return key in self._entries
