"""Checks a value against a field's type annotation, converting only what is lossless.

The rule users can rely on: an `int` is accepted where a `float` is declared,
a list is accepted where a tuple is declared (YAML has no tuples), a mapping
builds a nested config, and nothing else changes type silently. One exception
is documented: a float field accepts a float-literal string (see
`yaml_loader.is_float_literal`), because YAML 1.1 reads `1e-3` as a string.
`None` (YAML's null) means "unset" in every field, as in TFM: TFM's model zoo
declares `is_training: bool = True` or `input_size: List[int]` and stores
None there (`[None, None, 3]`); `validate()` refuses it where a value is
required.

As in TFM, `Tuple[X]` means "a tuple of X of any length", like
`Tuple[X, ...]`; only `Tuple[X, Y, ...]` with two or more item types fixes
the length. A config stored in a field is a copy, so a default shared by the
class (TFM writes `Tuple[Cfg, ...] = (Cfg(),)`) is never mutated through an
instance.

Nested configs are recognised by protocol (a class with `override` and
`as_dict`), so this module does not import `base_config`.
"""
import collections.abc
import copy
import types
import typing
from typing import Any, Sequence

from official_like.modeling.hyperparams.errors import ConfigTypeError
from official_like.modeling.hyperparams.errors import under
from official_like.modeling.hyperparams.yaml_loader import is_float_literal

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


def is_config_class(hint: Any) -> bool:
  """True for a class built from a mapping that merges and exports like a config."""
  return isinstance(hint, type) and all(
      callable(getattr(hint, name, None)) for name in ('override', 'as_dict'))


def _mismatch(value, hint, path) -> ConfigTypeError:
  return ConfigTypeError(
      path, f'expected {type_name(hint)}, got {type(value).__name__} {value!r}')


def coerce(value: Any, hint: Any, path: Sequence[str]) -> Any:
  """Returns `value` as `hint` declares it, or raises ConfigTypeError at `path`."""
  if value is None or hint is Any or hint is None or isinstance(hint, typing.TypeVar):
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
  if origin is tuple and len(args) > 1 and args[-1] is not Ellipsis:
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
  if is_config_class(cls):
    if isinstance(value, cls):
      return copy.deepcopy(value)
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
    if is_float_literal(value):
      return float(value)
    raise _mismatch(value, cls, path)
  if isinstance(value, cls):
    return value
  raise _mismatch(value, cls, path)
