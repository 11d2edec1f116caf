"""Choosing variables by name, for weight decay and layer adaptation.

AdamWeightDecay, LAMB, LARS and Adafactor take regex lists such as
`exclude_from_weight_decay=['LayerNorm', 'bias']` and apply them with
`re.search` to a variable's name. The name is the one TFM matches, so every
pattern selects the same variables as there: the full `var.name` for
AdamWeightDecay and LARS (hence TFM's `'.*(kernel|weight):0$'`), the name
without its `:0` for LAMB (`lamb_name`). Adafactor, which TFM leaves
unimplemented, uses the full name like AdamWeightDecay.

One thing differs on purpose. Under MirroredStrategy the optimizer updates
each replica's copy of a variable on its own, and every copy but the first is
named `dense/kernel/replica_1:0`; matched as is, `'kernel:0$'` would decay
only the first copy and the copies would silently drift apart. So that
`/replica_N` is removed first (`canonical_name`) and every copy gets the
first copy's decision.

A pattern list may also be a single string, which is one pattern: TFM's
vision configs write `include_in_weight_decay` that way. (TFM itself loops
over such a string character by character.)
"""
import re
from typing import Iterable, Optional, Tuple, Union

_REPLICA = re.compile(r'/replica_\d+(?=(:\d+)?$)')
_OUTPUT = re.compile(r':\d+$')

PatternList = Optional[Union[str, Iterable[str]]]


def canonical_name(name: str) -> str:
  """`name` of the first replica's copy: `a/b/replica_1:0` -> `a/b:0`."""
  return _REPLICA.sub('', name, count=1)


def lamb_name(name: str) -> str:
  """The canonical name without the `:N` output index, as TFM's LAMB matches."""
  return _OUTPUT.sub('', canonical_name(name), count=1)


def patterns(value: PatternList) -> Tuple[str, ...]:
  """None -> no pattern, a string -> that one pattern, else the list's items."""
  if value is None:
    return ()
  if isinstance(value, str):
    return (value,)
  return tuple(value)


def matches_any(name: str, pattern_list: PatternList) -> bool:
  """Whether any pattern occurs (`re.search`) in `name`."""
  return any(re.search(p, name) for p in patterns(pattern_list))
