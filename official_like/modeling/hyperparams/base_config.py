"""Typed, dataclass-based configs: built from dicts, YAML or override strings.

A `Config` subclass is an ordinary `@dataclasses.dataclass` whose fields are
type-checked on every assignment (see `value_types`). TFM code builds configs
as `OptimizationConfig({'optimizer': ...})`, so a single positional mapping is
accepted as "start from the defaults and override with this"; the metaclass
handles that (and TFM's `default_params=` / `restrictions=` arguments) so the
generated dataclass `__init__` stays untouched.

Two kinds of keys live side by side:

* declared fields: typed; an unknown key is an error with suggestions, even
  in the constructor, because a typo in a declared config is a silent bug;
* undeclared keys: the whole content of a plain `Config({...})` (the base
  class declares nothing, so, as in TFM, its constructor adds keys), or
  keys added by `override(..., is_strict=False)`. They follow TFM's allowlist
  in `untyped`.

Merging follows TFM: a mapping merges into the config already stored under a
key, and a list of mappings of the same length as a stored list of configs
merges element by element (so a subclass stored there keeps its class).
"""
import collections.abc
import copy
import dataclasses
import typing
from typing import Any, Dict, Iterator, Mapping, Tuple

import yaml

from official_like.modeling.hyperparams import params_dict  # pylint: disable=unused-import  TFM code reaches it as base_config.params_dict
from official_like.modeling.hyperparams import params_parser
from official_like.modeling.hyperparams import restrictions as restriction_rules
from official_like.modeling.hyperparams import untyped
from official_like.modeling.hyperparams.binding import bind
from official_like.modeling.hyperparams.errors import ConfigError
from official_like.modeling.hyperparams.errors import LockedConfigError
from official_like.modeling.hyperparams.errors import missing_key
from official_like.modeling.hyperparams.errors import NoSuchAttribute
from official_like.modeling.hyperparams.errors import reserved_key
from official_like.modeling.hyperparams.errors import under
from official_like.modeling.hyperparams.errors import unknown_key
from official_like.modeling.hyperparams.errors import UnknownKeyError
from official_like.modeling.hyperparams.value_types import coerce

_BUILDER_ERROR = ('`BUILDER` is a property and `_BUILDER` is the reserved class '
                  'attribute; attach a builder with `bind(ConfigClass)` instead '
                  'of assigning it')


class _ConfigMeta(type):
  """Lets `SomeConfig(mapping)` mean "defaults, then override with mapping"."""

  def __call__(cls, *args, default_params=None, restrictions=None, **kwargs):
    if len(args) == 1 and (isinstance(args[0], collections.abc.Mapping)
                           or untyped.is_config(args[0])):
      default_params, args = args[0], ()
    specs = cls.field_types()
    for name in kwargs:
      if name not in specs:
        raise (missing_key if cls.is_open() else unknown_key)((), name, specs)
    obj = super().__call__(*args, **kwargs)
    object.__setattr__(obj, '_restrictions', list(restrictions or ()))
    if default_params is not None:
      obj.override(default_params, is_strict=not cls.is_open())
    return obj


@dataclasses.dataclass
class Config(metaclass=_ConfigMeta):
  """Base class of every config: typed fields, strict keys, readable errors."""

  _extra_fields: typing.ClassVar[Dict[str, Tuple[Any, Any]]] = {}
  _BUILDER = None
  IMMUTABLE_TYPES = untyped.IMMUTABLE_TYPES
  SEQUENCE_TYPES = untyped.SEQUENCE_TYPES

  def __init_subclass__(cls, **kwargs):
    # `@dataclass` on a subclass would generate __eq__/__repr__ that ignore
    # fields registered at run time; a method already in the class body is
    # left alone by the decorator, so ours is put there first.
    super().__init_subclass__(**kwargs)
    for name in ('__eq__', '__repr__'):
      if name not in cls.__dict__:
        setattr(cls, name, Config.__dict__[name])

  def __post_init__(self, *args, **kwargs):
    """Nothing to do; here so a subclass's `__post_init__` may call super(), as in TFM."""
    del args, kwargs

  @classmethod
  def field_types(cls) -> Dict[str, Any]:
    """Maps each field name (declared or registered at run time) to its type."""
    cache = cls.__dict__.get('_field_type_cache')
    if cache is None:
      hints = typing.get_type_hints(cls)
      cache = {f.name: hints.get(f.name, Any) for f in dataclasses.fields(cls)}
      cache.update({k: v[0] for k, v in cls._extra_fields.items()})
      type.__setattr__(cls, '_field_type_cache', cache)
    return cache

  @classmethod
  def is_open(cls) -> bool:
    """True when the class declares no field, so its constructor adds keys."""
    return not cls.field_types()

  @classmethod
  def _add_field(cls, name: str, hint: Any, default_factory) -> None:
    """Adds a field after class creation (used by OneOfConfig registration)."""
    extras = dict(cls.__dict__.get('_extra_fields', {}))
    extras[name] = (hint, default_factory)
    type.__setattr__(cls, '_extra_fields', extras)
    for klass in [cls] + _all_subclasses(cls):
      if '_field_type_cache' in klass.__dict__:
        type.__delattr__(klass, '_field_type_cache')

  @property
  def BUILDER(self):  # pylint: disable=invalid-name
    """What `bind(type(self))` attached: the class or function that builds from this config."""
    return self._BUILDER

  # Construction from other sources.

  @classmethod
  def from_dict(cls, params: Mapping[str, Any]) -> 'Config':
    return cls(params)

  @classmethod
  def from_yaml(cls, path: str) -> 'Config':
    """Builds a config from a YAML (or JSON) file."""
    return cls(params_parser.load_yaml_file(path))

  @classmethod
  def from_json(cls, path: str) -> 'Config':
    return cls.from_yaml(path)

  @classmethod
  def from_string(cls, text: str) -> 'Config':
    """Builds a config from YAML/JSON text or an `a.b=1,c=2` override list."""
    return cls(params_parser.parse(text, source='config string'))

  @classmethod
  def from_args(cls, *args: Any, **kwargs: Any) -> 'Config':
    """Positional arguments fill the fields this class itself declares, in order."""
    names = list(cls.__dict__.get('__annotations__', {}))
    params = dict(zip(names, args))
    params.update(kwargs)
    return cls(default_params=params)

  # Attribute access: typed, strict and lockable.

  def __setattr__(self, name: str, value: Any) -> None:
    if name in ('BUILDER', '_BUILDER'):
      raise AttributeError(_BUILDER_ERROR)
    if name.startswith('_'):
      object.__setattr__(self, name, value)
      return
    if self.is_locked:
      raise LockedConfigError(
          (name,), 'config is locked; use replace() to get a modified copy')
    if name not in self.field_types() and name not in self._extra_keys():
      raise self._unknown(name)
    with under(name):
      self._assign(name, value, is_strict=True, from_override=False)

  def __getattr__(self, name: str) -> Any:
    # Only reached for names not in __dict__: fields registered after this
    # instance was made get their default on first access.
    if not name.startswith('_'):
      extra = type(self)._extra_fields.get(name)
      if extra is not None:
        value = extra[1]()
        object.__setattr__(self, name, value)
        return value
    raise NoSuchAttribute(type(self).__name__, name, self._keys)

  def __contains__(self, key: str) -> bool:
    return key in self._keys()

  def get(self, key: str, value: Any = None) -> Any:
    """`config[key]` if the key exists, else `value` (TFM's ParamsDict.get)."""
    return getattr(self, key) if key in self else value

  def __eq__(self, other: Any) -> bool:
    if type(self) is not type(other):
      return NotImplemented
    return self.as_dict() == other.as_dict()

  def __repr__(self) -> str:
    body = ', '.join(f'{k}={v!r}' for k, v in self._items())
    return f'{type(self).__name__}({body})'

  def _extra_keys(self) -> Tuple[str, ...]:
    return self.__dict__.get('_extras', ())

  def _keys(self) -> Tuple[str, ...]:
    return tuple(self.field_types()) + self._extra_keys()

  def _items(self) -> Iterator[Tuple[str, Any]]:
    for name in self._keys():
      yield name, getattr(self, name)

  def _unknown(self, key: str) -> UnknownKeyError:
    if self.is_open():
      return missing_key((), key, self._keys())
    return unknown_key((), key, self._keys())

  # Storing one value: merge into what is there, or check and replace.

  def _assign(self, name: str, value: Any, is_strict: bool,
              from_override: bool) -> None:
    """Stores `value` under `name`; errors come back relative to `name`.

    `override` works on a staged copy, so it merges in place and, as in TFM,
    also merges a config given as a value; plain assignment copies first and
    replaces the stored config with a config value.
    """
    current = self.__dict__.get(name)
    if untyped.is_config(current) and (
        isinstance(value, collections.abc.Mapping)
        or (from_override and untyped.is_config(value))):
      target = current if from_override else copy.deepcopy(current)
      _merge(target, value, is_strict)
    elif _merges_elementwise(current, value):
      target = current if from_override else copy.deepcopy(current)
      for i, (item, params) in enumerate(zip(target, value)):
        with under(f'[{i}]'):
          _merge(item, params, is_strict)
    else:
      target = self._convert(name, value)
    object.__setattr__(self, name, target)

  def _convert(self, name: str, value: Any) -> Any:
    """The value to store: typed for a declared field, TFM's allowlist otherwise."""
    specs = self.field_types()
    if name in specs:
      return coerce(value, specs[name], ())
    return untyped.import_value(value, Config, self.IMMUTABLE_TYPES,
                                self.SEQUENCE_TYPES)

  # The public API.

  def override(self, params: Any, is_strict: bool = True) -> 'Config':
    """Overrides fields from a dict, a Config, YAML/JSON text, a file or `k=v` list.

    Nested mappings merge into nested configs. The override is all or
    nothing: if any key or value is wrong, the config is left unchanged.
    With `is_strict=False`, unknown keys are added as untyped keys (TFM's
    behaviour) instead of raising.
    """
    if untyped.is_config(params):
      params = params.as_dict()
    params = params_parser.parse(params)
    if self.is_locked:
      raise LockedConfigError((), 'config is locked; use replace() to get a '
                              'modified copy')
    staged = copy.deepcopy(self)
    staged._apply(params, is_strict)  # pylint: disable=protected-access
    staged._check_override()  # pylint: disable=protected-access
    self.__dict__.update(staged.__dict__)
    return self

  def _check_override(self) -> None:
    """Rules to enforce right after an override, before it is committed."""

  def _apply(self, params: Mapping[str, Any], is_strict: bool) -> None:
    if self.is_locked:
      raise LockedConfigError((), 'config is locked; use replace() to get a '
                              'modified copy')
    specs = self.field_types()
    for key, value in params.items():
      if not isinstance(key, str):
        raise ConfigError((repr(key),), 'config keys must be strings')
      if key not in specs and key not in self._extra_keys():
        if key.startswith('_') or hasattr(type(self), key):
          raise reserved_key((), key)
        if is_strict:
          raise self._unknown(key)
        object.__setattr__(self, '_extras', self._extra_keys() + (key,))
      with under(key):
        self._assign(key, value, is_strict, from_override=True)

  def as_dict(self) -> Dict[str, Any]:
    """Plain nested data that `type(self)(d)` turns back into an equal config.

    As in TFM, a tuple stays a tuple; `as_yaml` writes it as a YAML list.
    """
    return {name: untyped.export_value(value) for name, value in self._items()}

  def as_yaml(self) -> str:
    return yaml.safe_dump(self.as_dict(), default_flow_style=False, sort_keys=False)

  def replace(self, **kwargs: Any) -> 'Config':
    """A copy with some fields overridden; `self` is not changed (even if locked)."""
    new = copy.deepcopy(self)
    object.__setattr__(new, '_locked', False)
    new.override(kwargs)
    if self.is_locked:
      new.lock()
    return new

  def lock(self) -> 'Config':
    """Makes this config's own fields immutable.

    Nested configs stay mutable, as in TFM, whose code commonly adjusts
    `params.trainer.*` after `parse_configuration` has locked `params`.
    """
    object.__setattr__(self, '_locked', True)
    return self

  @property
  def is_locked(self) -> bool:
    return self.__dict__.get('_locked', False)

  def validate(self) -> None:
    """Checks rules that span fields; subclasses extend it and call super().

    Nested configs are validated too, then this config's `restrictions`.
    Errors raised by nested configs come back with the full key path.
    """
    for name, value in self._items():
      for suffix, child in _nested_configs(value):
        with under(name, *suffix):
          child.validate()
    self._check_restrictions()

  def _check_restrictions(self) -> None:
    restriction_rules.check(self.__dict__.get('_restrictions', ()), self.as_dict())


def _merge(target: Any, params: Any, is_strict: bool) -> None:
  if untyped.is_config(params):
    params = params.as_dict()
  if isinstance(target, Config):
    target._apply(params, is_strict)  # pylint: disable=protected-access
  else:
    target.override(params, is_strict)


def _merges_elementwise(current: Any, value: Any) -> bool:
  """TFM's rule: same-length mappings merge into a stored list of configs."""
  sequences = untyped.SEQUENCE_TYPES
  return (isinstance(current, sequences) and isinstance(value, sequences)
          and 0 < len(current) == len(value)
          and all(untyped.is_config(c) for c in current)
          and all(isinstance(v, collections.abc.Mapping) or untyped.is_config(v)
                  for v in value))


def _nested_configs(value: Any):
  if isinstance(value, Config):
    yield (), value
  elif isinstance(value, (list, tuple)):
    for i, item in enumerate(value):
      if isinstance(item, Config):
        yield (f'[{i}]',), item


def _all_subclasses(cls):
  out = []
  for sub in cls.__subclasses__():
    out += [sub] + _all_subclasses(sub)
  return out


__all__ = ['bind', 'Config', 'ConfigError', 'UnknownKeyError']
