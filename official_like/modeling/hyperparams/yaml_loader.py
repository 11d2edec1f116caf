"""How YAML text becomes Python values, safely, and the float-literal rule.

Configs come from files and flags written by people, so YAML is never
allowed to build arbitrary Python objects. Two TFM habits still have to load:

* `!!python/tuple` (TFM's video experiment YAMLs use it): the only python tag
  this loader constructs; every other `!!python/...` tag is refused.
* `1e-3`: YAML 1.1 (PyYAML) reads an exponent without a dot as a string. TFM
  patches its loader to read it as a float; so does this one, and a float
  field also accepts such a string when it arrives through a plain dict.
  `is_float_literal` is the single definition of "a float literal": ask it
  rather than writing another regex.
"""
import re
from typing import Any

import yaml

from official_like.modeling.hyperparams.errors import ConfigError

_MANTISSA = r'[-+]?(\d+\.\d*|\.\d+|\d+)'
_EXPONENT = r'[eE][-+]?\d+'
_FLOAT_LITERAL = re.compile(f'^{_MANTISSA}({_EXPONENT})?$')
_EXPONENT_FLOAT = re.compile(f'^{_MANTISSA}{_EXPONENT}$')
_TUPLE_TAG = 'tag:yaml.org,2002:python/tuple'


def is_float_literal(text: Any) -> bool:
  """True for a string such as '1e-3', '-2.5', '.5' or '3' that float() reads exactly."""
  return isinstance(text, str) and bool(_FLOAT_LITERAL.match(text.strip()))


class ConfigLoader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
  """`yaml.SafeLoader` plus `!!python/tuple` and exponent-only floats."""


def _construct_tuple(loader: ConfigLoader, node: yaml.Node) -> tuple:
  return tuple(loader.construct_sequence(node, deep=True))


def _refuse(loader: ConfigLoader, node: yaml.Node):
  del loader
  raise yaml.constructor.ConstructorError(
      None, None,
      f'tag {node.tag!r} is not allowed: configs are read with a safe loader '
      'whose only python tag is !!python/tuple', node.start_mark)


ConfigLoader.add_constructor(_TUPLE_TAG, _construct_tuple)
ConfigLoader.add_constructor(None, _refuse)
# PyYAML already reads '1.5' and '1.0e+3'; this adds what it leaves a string.
ConfigLoader.add_implicit_resolver(
    'tag:yaml.org,2002:float', _EXPONENT_FLOAT, list('-+0123456789.'))


def load(text: str, source: str) -> Any:
  """Parses YAML (or JSON) text; `source` names where it came from in errors."""
  try:
    return yaml.load(text, Loader=ConfigLoader)  # nosec: a SafeLoader subclass
  except yaml.YAMLError as e:
    mark = getattr(e, 'problem_mark', None)
    where = f' (line {mark.line + 1}, column {mark.column + 1})' if mark else ''
    problem = getattr(e, 'problem', None) or str(e).splitlines()[0]
    raise ConfigError((), f'{source}: invalid YAML{where}: {problem}') from e
