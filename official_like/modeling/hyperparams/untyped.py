"""What a key without a declared type may hold, and how every value is exported.

A field with an annotation is checked by `value_types`. A key added at run
time (a plain `Config({...})`, or `override(..., is_strict=False)`) has no
type to check against, so it follows TFM's allowlist instead: scalars, a
mapping (which becomes a nested config so attribute access works), or a
one-level list/tuple of scalars or of mappings/configs. Anything else, such as
a set, a function or a list of lists, is refused at once rather than turning
into a config that YAML cannot write back.
"""
import collections.abc
import copy
from typing import Any, Callable, Sequence

from official_like.modeling.hyperparams.errors import ConfigTypeError
from official_like.modeling.hyperparams.errors import under

IMMUTABLE_TYPES = (str, int, float, bool, type(None))
SEQUENCE_TYPES = (list, tuple)


def is_config(value: Any) -> bool:
  """A config instance, recognised by protocol (ours, or anything like TFM's)."""
  return not isinstance(value, type) and all(
      callable(getattr(value, name, None)) for name in ('override', 'as_dict'))


def import_value(value: Any, make_config: Callable[[Any], Any],
                 immutable: Sequence[type] = IMMUTABLE_TYPES,
                 sequences: Sequence[type] = SEQUENCE_TYPES) -> Any:
  """Returns `value` ready to store under an undeclared key; `make_config(d)` builds a config."""
  immutable, sequences = tuple(immutable), tuple(sequences)
  if isinstance(value, immutable):
    return value
  if isinstance(value, sequences):
    if not (all(isinstance(v, immutable) for v in value) or
            all(isinstance(v, collections.abc.Mapping) for v in value) or
            all(is_config(v) for v in value)):
      raise ConfigTypeError((), 'Invalid sequence: only supports single level '
                            'lists/tuples of str, int, float, bool or None, or '
                            f'of mappings or configs; got {value!r}')
    items = []
    for i, v in enumerate(value):
      with under(f'[{i}]'):
        items.append(import_value(v, make_config, immutable, sequences))
    return type(value)(items)
  if is_config(value):
    return copy.deepcopy(value)
  if isinstance(value, collections.abc.Mapping):
    return make_config(value)
  raise ConfigTypeError((), f'Unknown type {type(value).__name__} {value!r}: a '
                        'key without a declared type holds a scalar, a mapping '
                        'or a one-level list/tuple of them')


def export_value(value: Any) -> Any:
  """Plain Python data: configs become dicts; lists stay lists and tuples tuples."""
  if is_config(value):
    return value.as_dict()
  if isinstance(value, SEQUENCE_TYPES):
    return type(value)(export_value(v) for v in value)
  if isinstance(value, collections.abc.Mapping):
    return {k: export_value(v) for k, v in value.items()}
  return value
