"""TFM's `restrictions`: relations between keys, written as strings, checked by `validate()`.

`Config(restrictions=['e.a < c', 'f == 1'])` lets a config state simple
consistency rules without a `validate` override. Each side is a dotted key
of the config or a number (or `None`); the relations are ==, !=, <, <=, >, >=.
A broken rule names the rule and both values, so the user sees why (after
TFM's own words, "Found inconsistency between key ...").
"""
import re
from typing import Any, Iterable, Mapping, Tuple

from official_like.modeling.hyperparams.errors import ConfigError
from official_like.modeling.hyperparams.errors import RestrictionError

_CONSTANT = re.compile(r'(\d.*|-\d.*|None)')
# Two-character operators first, so '<=' is not read as '<'.
_RELATIONS = (
    ('==', lambda a, b: a == b), ('!=', lambda a, b: a != b),
    ('<=', lambda a, b: a <= b), ('<', lambda a, b: a < b),
    ('>=', lambda a, b: a >= b), ('>', lambda a, b: a > b),
)


def check(restrictions: Iterable[str], values: Mapping[str, Any]) -> None:
  """Raises RestrictionError for the first rule that `values` (as_dict()) breaks."""
  for rule in restrictions:
    op, holds = next(((o, f) for o, f in _RELATIONS if o in rule), (None, None))
    if op is None:
      raise ConfigError((), f'restriction {rule!r}: unsupported relation; use '
                        'one of ==, !=, <, <=, >, >=')
    sides = rule.split(op)
    if len(sides) != 2:
      raise ConfigError((), f'restriction {rule!r}: only a binary relation '
                        'between two keys or numbers is supported')
    (left, a), (right, b) = (_operand(s.strip(), values, rule) for s in sides)
    try:
      ok = holds(a, b)
    except TypeError as e:
      raise ConfigError((), f'restriction {rule!r}: cannot compare {left} = '
                        f'{a!r} with {right} = {b!r}') from e
    if not ok:  # TFM's opening words, which TFM's model-zoo tests match.
      raise RestrictionError((), f'Found inconsistency between key `{left}` and key '
                             f'`{right}`: restriction {rule!r} does not hold: '
                             f'{left} = {a!r}, {right} = {b!r}')


def _operand(text: str, values: Mapping[str, Any], rule: str) -> Tuple[str, Any]:
  if _CONSTANT.match(text):
    if text == 'None':
      return text, None
    try:
      return text, float(text)
    except ValueError as e:
      raise ConfigError((), f'restriction {rule!r}: {text!r} is not a '
                        'number') from e
  node: Any = values
  for part in text.split('.'):
    if not isinstance(node, Mapping) or part not in node:
      raise RestrictionError((), f'restriction {rule!r}: the key {text!r} '
                             'does not exist')
    node = node[part]
  return text, node
