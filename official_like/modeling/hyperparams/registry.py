"""Name -> object tables that refuse duplicates and explain misses: the one registry.

It lives in the lowest layer so that every table fails the same way: the
optimizer, schedule and warmup tables of `modeling/optimization`, the
experiment and task registries of `core`. Registering a taken name, or
looking up an unknown one, raises a `RegistryError` naming the kind and
listing what is registered (a KeyError, as TFM raises).

`register`/`lookup` are TFM's functions on a plain dict with hierarchical
string keys (`'model/exp/config'` is stored as nested dicts);
`core/registry.py` offers them under TFM's path.
"""
from typing import Any, Callable, Dict, Hashable, Optional, Sequence

from official_like.modeling.hyperparams.errors import ConfigError
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
  """One kind of entries; `describe` turns a key into text for messages.

  `tables` are the dicts the entries live in (default: one of its own);
  with several (the optimizer classes of both Keras APIs), a name is taken
  when any has it and registering writes all.
  """

  def __init__(self, kind: str, describe: Callable[[Hashable], str] = str,
               tables: Optional[Sequence[Dict[Hashable, Any]]] = None):
    self.kind = kind
    self._describe = describe
    self._tables = list(tables) if tables is not None else [{}]

  def register(self, key: Hashable, value: Optional[Any] = None):
    """Registers `value` under `key`; without `value`, returns a decorator."""
    def add(obj):
      if key in self:
        raise self.taken(key)
      for table in self._tables:
        table[key] = obj
      return obj
    return add if value is None else add(value)

  def lookup(self, key: Hashable) -> Any:
    if key not in self._tables[0]:
      raise self.missing(key)
    return self._tables[0][key]

  def taken(self, key: Hashable, names: Optional[Sequence[str]] = None) -> RegistryError:
    """The error for registering `key` again; `names` (default: the entries) are listed."""
    held = next((t[key] for t in self._tables if key in t), None)
    to = f' (to {held!r})' if held is not None else ''
    listed = ', '.join(names if names is not None else self.names())
    return RegistryError((self.kind,), f'{self._describe(key)!r} is already registered'
                         f'{to}; pick another name (taken: {listed})')

  def missing(self, key: Hashable) -> RegistryError:
    """The error for an unregistered `key`, listing what is registered."""
    name = self._describe(key)
    return RegistryError((self.kind,), f'unknown {self.kind} {name!r}; '
                         f"{suggestion(name, self.names(), self.kind + 's')}")

  def names(self):
    return sorted({self._describe(k) for table in self._tables for k in table})

  def __contains__(self, key: Hashable) -> bool:
    return any(key in table for table in self._tables)
