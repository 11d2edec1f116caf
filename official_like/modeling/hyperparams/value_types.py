"""Checks a value against a field's type annotation, converting only what is lossless.

The rule users can rely on: an `int` is accepted where a `float` is declared,
a list is accepted where a tuple is declared (YAML has no tuples), a mapping
builds a nested config, and nothing else changes type silently. One exception
is documented: YAML 1.1 (PyYAML's `safe_load`) reads `1e-3` as a string, so a
float field accepts a string that is a float literal.
"""
import collections.abc
import re
import types
import typing
from typing import Any, Sequence

from official_like.modeling.hyperparams.errors import ConfigTypeError
from official_like.modeling.hyperparams.errors import under

_FLOAT_LITERAL = re.compile(r'^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$')
_SEQUENCE_ORIGINS = (list, tuple, collections.abc.Sequence)
_MAPPING_ORIGINS = (dict, collections.abc.Mapping, collections.abc.MutableMapping)


def type_name(hint: Any) -> str:
  """A short, readable spelling of a type annotation for error messages."""
  if hint is type(None):
    return 'None'
  if isinstance(hint, type) and not typing.get_args(hint):
    return hint.__name__
  origin, args = typing.get_origin(hint), typing.get_args(hint)
  if origin in (typing.Union, types.UnionType):
    inner = [type_name(a) for a in args if a is not type(None)]
    body = inner[0] if len(inner) == 1 else f"Union[{', '.join(inner)}]"
    return f'Optional[{body}]' if type(None) in args else body
  if origin is typing.Literal:
    return f"one of {', '.join(repr(a) for a in args)}"
  if origin is not None:
    name = getattr(origin, '__name__', str(origin)).capitalize()
    return f"{name}[{', '.join(type_name(a) for a in args if a is not Ellipsis)}]"
  return str(hint).replace('typing.', '')


def _config_class():
  from official_like.modeling.hyperparams.base_config import Config  # pylint: disable=g-import-not-at-top
  return Config


def _mismatch(value, hint, path) -> ConfigTypeError:
  return ConfigTypeError(
      path, f'expected {type_name(hint)}, got {type(value).__name__} {value!r}')


def coerce(value: Any, hint: Any, path: Sequence[str]) -> Any:
  """Returns `value` as `hint` declares it, or raises ConfigTypeError at `path`."""
  if hint is Any or hint is None or isinstance(hint, typing.TypeVar):
    return value
  origin, args = typing.get_origin(hint), typing.get_args(hint)
  if origin in (typing.Union, types.UnionType):
    return _coerce_union(value, args, hint, path)
  if origin is typing.Literal:
    if value in args:
      return value
    raise _mismatch(value, hint, path)
  if origin in _SEQUENCE_ORIGINS:
    return _coerce_sequence(value, origin, args, hint, path)
  if origin in _MAPPING_ORIGINS:
    if not isinstance(value, collections.abc.Mapping):
      raise _mismatch(value, hint, path)
    value_hint = args[1] if len(args) == 2 else Any
    return {k: coerce(v, value_hint, tuple(path) + (str(k),))
            for k, v in value.items()}
  if isinstance(hint, type):
    return _coerce_class(value, hint, path)
  return value


def _coerce_union(value, args, hint, path):
  if value is None:
    if type(None) in args:
      return None
    raise _mismatch(value, hint, path)
  candidates = [a for a in args if a is not type(None)]
  # An exact isinstance match wins, so Union[str, float] keeps a str a str.
  for arg in candidates:
    if isinstance(arg, type) and not typing.get_args(arg) and _exact(value, arg):
      return value
  for arg in candidates:
    try:
      return coerce(value, arg, path)
    except ConfigTypeError:
      continue
  raise _mismatch(value, hint, path)


def _exact(value, cls) -> bool:
  if cls is int:
    return isinstance(value, int) and not isinstance(value, bool)
  if cls in (float, bool, str):
    return type(value) is cls  # pylint: disable=unidiomatic-typecheck
  return False


def _coerce_sequence(value, origin, args, hint, path):
  if isinstance(value, (str, bytes)) or not isinstance(
      value, (list, tuple)):
    raise _mismatch(value, hint, path)
  if origin is tuple and args and args[-1] is not Ellipsis:
    if len(args) != len(value):
      raise ConfigTypeError(
          path, f'expected {type_name(hint)} of length {len(args)}, '
          f'got {len(value)} items {list(value)!r}')
    items = [coerce(v, a, tuple(path) + (f'[{i}]',))
             for i, (v, a) in enumerate(zip(value, args))]
  else:
    item_hint = args[0] if args else Any
    items = [coerce(v, item_hint, tuple(path) + (f'[{i}]',))
             for i, v in enumerate(value)]
  return tuple(items) if origin is tuple else items


def _coerce_class(value, cls, path):
  config_cls = _config_class()
  if issubclass(cls, config_cls):
    if isinstance(value, cls):
      return value
    if isinstance(value, collections.abc.Mapping):
      with under(*path):
        return cls(value)
    raise _mismatch(value, cls, path)
  if cls is bool:
    if isinstance(value, bool):
      return value
    raise _mismatch(value, cls, path)
  if cls is int:
    if isinstance(value, int) and not isinstance(value, bool):
      return value
    raise _mismatch(value, cls, path)
  if cls is float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
      return float(value)
    if isinstance(value, str) and _FLOAT_LITERAL.match(value.strip()):
      return float(value)
    raise _mismatch(value, cls, path)
  if isinstance(value, cls):
    return value
  raise _mismatch(value, cls, path)
