"""Typed, dataclass-based configs: built from dicts, YAML or override strings.

A `Config` subclass is an ordinary `@dataclasses.dataclass` whose fields are
type-checked on every assignment (see `value_types`). TFM code builds configs
as `OptimizationConfig({'optimizer': ...})`, so a single positional mapping is
accepted as "start from the defaults and override with this"; the metaclass
handles that so the generated dataclass `__init__` stays untouched.
"""
import collections.abc
import copy
import dataclasses
import typing
from typing import Any, Dict, Iterator, Mapping, Tuple

import yaml

from official_like.modeling.hyperparams import params_parser
from official_like.modeling.hyperparams.errors import ConfigError
from official_like.modeling.hyperparams.errors import LockedConfigError
from official_like.modeling.hyperparams.errors import suggestion
from official_like.modeling.hyperparams.errors import under
from official_like.modeling.hyperparams.errors import unknown_key
from official_like.modeling.hyperparams.errors import UnknownKeyError
from official_like.modeling.hyperparams.value_types import coerce


class _ConfigMeta(type):
  """Lets `SomeConfig(mapping)` mean "defaults, then override with mapping"."""

  def __call__(cls, *args, **kwargs):
    params = None
    if len(args) == 1 and isinstance(args[0], (collections.abc.Mapping, Config)):
      params, args = args[0], ()
    specs = cls.field_types()
    for name in kwargs:
      if name not in specs:
        raise unknown_key((), name, specs)
    obj = super().__call__(*args, **kwargs)
    if params is not None:
      obj.override(params)
    return obj


@dataclasses.dataclass
class Config(metaclass=_ConfigMeta):
  """Base class of every config: typed fields, strict keys, readable errors."""

  _extra_fields: typing.ClassVar[Dict[str, Tuple[Any, Any]]] = {}

  def __init_subclass__(cls, **kwargs):
    # `@dataclass` on a subclass would generate __eq__/__repr__ that ignore
    # fields registered at run time; a method already in the class body is
    # left alone by the decorator, so ours is put there first.
    super().__init_subclass__(**kwargs)
    for name in ('__eq__', '__repr__'):
      if name not in cls.__dict__:
        setattr(cls, name, Config.__dict__[name])

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
  def _add_field(cls, name: str, hint: Any, default_factory) -> None:
    """Adds a field after class creation (used by OneOfConfig registration)."""
    extras = dict(cls.__dict__.get('_extra_fields', {}))
    extras[name] = (hint, default_factory)
    type.__setattr__(cls, '_extra_fields', extras)
    for klass in [cls] + _all_subclasses(cls):
      if '_field_type_cache' in klass.__dict__:
        type.__delattr__(klass, '_field_type_cache')

  # Construction from other sources.

  @classmethod
  def from_dict(cls, params: Mapping[str, Any]) -> 'Config':
    return cls(params)

  @classmethod
  def from_yaml(cls, path: str) -> 'Config':
    """Builds a config from a YAML (or JSON) file."""
    return cls(params_parser.load_yaml_file(path))

  @classmethod
  def from_string(cls, text: str) -> 'Config':
    """Builds a config from YAML/JSON text or an `a.b=1,c=2` override list."""
    return cls(params_parser.parse(text, source='config string'))

  # Attribute access: typed, strict and lockable.

  def __setattr__(self, name: str, value: Any) -> None:
    if name.startswith('_'):
      object.__setattr__(self, name, value)
      return
    if self.__dict__.get('_locked', False):
      raise LockedConfigError(
          (name,), 'config is locked; use replace() to get a modified copy')
    specs = self.field_types()
    if name not in specs:
      if name in self.__dict__.get('_extras', ()):
        object.__setattr__(self, name, value)
        return
      raise unknown_key((), name, specs)
    object.__setattr__(self, name, coerce(value, specs[name], (name,)))

  def __getattr__(self, name: str) -> Any:
    # Only reached for names not in __dict__: fields registered after this
    # instance was made get their default on first access.
    if not name.startswith('_'):
      extra = type(self)._extra_fields.get(name)
      if extra is not None:
        value = extra[1]()
        object.__setattr__(self, name, value)
        return value
    raise AttributeError(
        f"'{type(self).__name__}' has no attribute {name!r}; "
        f'{suggestion(name, self.field_types())}')

  def __eq__(self, other: Any) -> bool:
    if type(self) is not type(other):
      return NotImplemented
    return self.as_dict() == other.as_dict()

  def __repr__(self) -> str:
    body = ', '.join(f'{k}={v!r}' for k, v in self._items())
    return f'{type(self).__name__}({body})'

  def _items(self) -> Iterator[Tuple[str, Any]]:
    for name in self.field_types():
      yield name, getattr(self, name)
    for name in self.__dict__.get('_extras', ()):
      yield name, self.__dict__[name]

  # The public API.

  def override(self, params: Any, is_strict: bool = True) -> 'Config':
    """Overrides fields from a dict, a Config, YAML/JSON text, a file or `k=v` list.

    Nested mappings merge into nested configs. The override is all or
    nothing: if any key or value is wrong, the config is left unchanged.
    With `is_strict=False`, unknown keys are added as untyped extras (TFM's
    behaviour) instead of raising.
    """
    if isinstance(params, Config):
      params = params.as_dict()
    params = params_parser.parse(params)
    staged = copy.deepcopy(self)
    staged._apply(params, is_strict)  # pylint: disable=protected-access
    staged._check_override()  # pylint: disable=protected-access
    self.__dict__.update(staged.__dict__)
    return self

  def _check_override(self) -> None:
    """Rules to enforce right after an override, before it is committed."""

  def _apply(self, params: Mapping[str, Any], is_strict: bool) -> None:
    if self.__dict__.get('_locked', False):
      raise LockedConfigError((), 'config is locked; use replace() to get a '
                              'modified copy')
    specs = self.field_types()
    for key, value in params.items():
      if not isinstance(key, str):
        raise ConfigError((repr(key),), 'config keys must be strings')
      if key not in specs:
        if is_strict:
          raise unknown_key((), key, specs)
        object.__setattr__(self, key, value)
        object.__setattr__(self, '_extras', self.__dict__.get('_extras', ()) + (key,))
        continue
      current = getattr(self, key)
      if isinstance(current, Config) and isinstance(value, collections.abc.Mapping):
        with under(key):
          current._apply(value, is_strict)  # pylint: disable=protected-access
      else:
        setattr(self, key, value)

  def as_dict(self) -> Dict[str, Any]:
    """A plain nested dict that `type(self)(d)` turns back into an equal config."""
    return {name: _export(value) for name, value in self._items()}

  def as_yaml(self) -> str:
    return yaml.safe_dump(self.as_dict(), default_flow_style=False, sort_keys=False)

  def replace(self, **kwargs: Any) -> 'Config':
    """A copy with some fields overridden; `self` is not changed (even if locked)."""
    new = copy.deepcopy(self)
    _set_locked(new, False)
    new.override(kwargs)
    if self.is_locked:
      new.lock()
    return new

  def lock(self) -> 'Config':
    """Makes this config and every nested one immutable."""
    _set_locked(self, True)
    return self

  @property
  def is_locked(self) -> bool:
    return self.__dict__.get('_locked', False)

  def validate(self) -> None:
    """Checks rules that span fields; subclasses extend it and call super().

    Errors raised by nested configs come back with the full key path.
    """
    for name, value in self._items():
      for suffix, child in _nested_configs(value):
        with under(name, *suffix):
          child.validate()


def _nested_configs(value: Any):
  if isinstance(value, Config):
    yield (), value
  elif isinstance(value, (list, tuple)):
    for i, item in enumerate(value):
      if isinstance(item, Config):
        yield (f'[{i}]',), item


def _set_locked(config: Config, locked: bool) -> None:
  object.__setattr__(config, '_locked', locked)
  for _, value in config._items():  # pylint: disable=protected-access
    for _, child in _nested_configs(value):
      _set_locked(child, locked)


def _export(value: Any) -> Any:
  if isinstance(value, Config):
    return value.as_dict()
  if isinstance(value, (list, tuple)):
    return [_export(v) for v in value]
  if isinstance(value, dict):
    return {k: _export(v) for k, v in value.items()}
  return value


def _all_subclasses(cls):
  out = []
  for sub in cls.__subclasses__():
    out += [sub] + _all_subclasses(sub)
  return out


__all__ = ['Config', 'ConfigError', 'UnknownKeyError']
