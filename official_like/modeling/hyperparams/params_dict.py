"""TFM's untyped `ParamsDict`, kept for code written against it.

New code should use `Config`. A ParamsDict is the older, schema-less
container: nested dicts become ParamsDicts, everything else (lists of dicts
included) is stored as a deep copy, and keys are added only through
`override(..., is_strict=False)`. Errors reuse the config error types, so
they name the full key path.
"""
import copy
import re
from typing import Any, Iterable, Optional

import yaml

from official_like.modeling.hyperparams import params_parser
from official_like.modeling.hyperparams import restrictions as restriction_rules
from official_like.modeling.hyperparams.errors import ConfigError
from official_like.modeling.hyperparams.errors import LockedConfigError
from official_like.modeling.hyperparams.errors import missing_key
from official_like.modeling.hyperparams.errors import reserved_key
from official_like.modeling.hyperparams.errors import under


class ParamsDict:
  """A nested, attribute-access dictionary of hyperparameters."""

  RESERVED_ATTR = ('_locked', '_restrictions')

  def __init__(self, default_params: Any = None,
               restrictions: Optional[Iterable[str]] = None):
    object.__setattr__(self, '_locked', False)
    object.__setattr__(self, '_restrictions', list(restrictions or ()))
    self.override(default_params or {}, is_strict=False)

  def _keys(self):
    return [k for k in self.__dict__ if k not in self.RESERVED_ATTR]

  def _store(self, key: str, value: Any) -> None:
    if isinstance(value, dict):
      value = ParamsDict(value)
    else:
      value = copy.deepcopy(value)
    self.__dict__[key] = value

  def __setattr__(self, key: str, value: Any) -> None:
    if key in self.RESERVED_ATTR:
      object.__setattr__(self, key, value)
      return
    if key not in self.__dict__:
      raise missing_key((), key, self._keys())
    if self._locked:
      raise LockedConfigError((key,), 'the ParamsDict is locked')
    self._store(key, value)

  def __getattr__(self, key: str) -> Any:
    raise AttributeError(f'The key {key!r} does not exist; keys: '
                         f"{', '.join(self._keys()) or '(none)'}")

  def __delattr__(self, key: str) -> None:
    if key in self.RESERVED_ATTR or key not in self.__dict__:
      raise AttributeError(f'The key {key!r} cannot be deleted: it is reserved '
                           'or does not exist')
    if self._locked:
      raise LockedConfigError((key,), 'the ParamsDict is locked')
    del self.__dict__[key]

  def __contains__(self, key: str) -> bool:
    return key in self.__dict__

  def get(self, key: str, value: Any = None) -> Any:
    return self.__dict__.get(key, value)

  def override(self, override_params: Any, is_strict: bool = True) -> None:
    """Merges a dict, a ParamsDict/Config or override text into this one."""
    if self._locked:
      raise LockedConfigError((), 'the ParamsDict is locked')
    if hasattr(override_params, 'as_dict'):
      override_params = override_params.as_dict()
    self._override(params_parser.parse(override_params), is_strict)

  def _override(self, params: dict, is_strict: bool) -> None:
    for key, value in params.items():
      if key in self.RESERVED_ATTR:
        raise reserved_key((), key)
      if hasattr(value, 'as_dict'):
        value = value.as_dict()
      current = self.__dict__.get(key)
      if key not in self.__dict__:
        if is_strict:
          raise missing_key((), key, self._keys())
        self._store(key, value)
      elif isinstance(value, dict) and isinstance(current, ParamsDict):
        with under(key):
          current._override(value, is_strict)  # pylint: disable=protected-access
      else:
        self._store(key, value)

  def lock(self) -> None:
    object.__setattr__(self, '_locked', True)

  def as_dict(self) -> dict:
    return {k: v.as_dict() if isinstance(v, ParamsDict) else copy.deepcopy(v)
            for k, v in self.__dict__.items() if k not in self.RESERVED_ATTR}

  def validate(self) -> None:
    """Checks the `restrictions` given to the constructor."""
    restriction_rules.check(self._restrictions, self.as_dict())


def read_yaml_to_params_dict(file_path: str) -> ParamsDict:
  return ParamsDict(params_parser.load_yaml_file(file_path, 'file_path'))


class _FlowListDumper(yaml.SafeDumper):  # pylint: disable=too-many-ancestors
  """Safe dumper writing lists as `[1, 2]` without changing yaml's global state."""


_FlowListDumper.add_representer(
    list, lambda d, data: d.represent_sequence(
        'tag:yaml.org,2002:seq', data, flow_style=True))


def save_params_dict_to_yaml(params: Any, file_path: str) -> None:
  """Writes `params.as_dict()` as YAML, lists in flow style as TFM does."""
  with open(file_path, 'w', encoding='utf-8') as f:
    yaml.dump(params.as_dict(), f, Dumper=_FlowListDumper,
              default_flow_style=False)


def override_params_dict(params: Any, dict_or_string_or_yaml_file: Any,
                         is_strict: bool) -> Any:
  """Overrides `params` from a dict, YAML/JSON text, `a.b=1` list or YAML path."""
  if not dict_or_string_or_yaml_file:
    return params
  if not isinstance(dict_or_string_or_yaml_file, (dict, str)):
    raise ConfigError((), 'expected a dict or a string to override with, got '
                      f'{type(dict_or_string_or_yaml_file).__name__}')
  params.override(params_parser.parse(dict_or_string_or_yaml_file), is_strict)
  return params


_CSV_ITEM = re.compile(r'^(?P<name>[A-Za-z][\w.]*)(?P<index>\[\d+\])?\s*=\s*(?P<value>.*)$', re.S)


def nested_csv_str_to_json_str(csv_str: str) -> str:
  """TFM's `a=1,b.c=2,d[1]=5,d[0]=4` -> `{a : 1, b : {c : 2}, d : [4, 5]}` (YAML flow text).

  Values are copied as written (quoted strings, numbers, flat lists);
  `name[i]=number` items gather into a list that must have every index;
  `gs://` paths are quoted. Plain keys come first, then nested sections,
  then lists, each in the order first seen.

  Raises:
    ValueError: an item that is not `key=value`, a nested list, or a list
      with a missing index.
  """
  if not csv_str:
    return ''
  plain, nested, arrays = [], {}, {}
  for item in params_parser.split_top_level(csv_str, 'csv string'):
    match = _CSV_ITEM.match(item)
    if not match or '[' in match['value'][1:]:
      raise ValueError(f'malformed item {item!r} in the CSV string {csv_str!r} (nested '
                       'lists are not supported)')
    name, index, value = match['name'], match['index'], match['value'].strip()
    head, _, rest = name.partition('.')
    if rest:
      nested.setdefault(head, []).append(f'{rest}{index or ""}={value}')
    elif index:
      arrays.setdefault(name, {})[int(index[1:-1])] = float(value) if '.' in value else int(value)
    else:
      plain.append(f"{name} : '{value}'" if value.startswith('gs://') else f'{name} : {value}')
  entries = plain + [f'{key} : {nested_csv_str_to_json_str(",".join(items))}'
                     for key, items in nested.items()]
  for name, values in arrays.items():
    if sorted(values) != list(range(len(values))):
      raise ValueError(f'{name}: indices {sorted(values)} leave gaps; give every index '
                       f'from 0 to {max(values)}')
    entries.append(f'{name} : {[values[i] for i in range(len(values))]}')
  return '{' + ', '.join(entries) + '}'
