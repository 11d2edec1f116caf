"""Choosing variables by name, for weight decay and layer adaptation.

AdamWeightDecay, LAMB, LARS and Adafactor all take regex lists such as
`exclude_from_weight_decay=['layer_norm', 'bias']` and apply them with
`re.search` to the variable's name. The name is taken without TensorFlow's
decorations: the `:0` output suffix and the `/replica_N` suffix that
MirroredStrategy gives every copy but the first. Without this, an anchored
pattern like `'bias$'` never matches, and under MirroredStrategy the copies of
one variable could be decayed differently and silently drift apart.
"""
import re
from typing import Iterable, Optional

_DECORATION = re.compile(r'(/replica_\d+)?(:\d+)?$')


def variable_name(var) -> str:
  """`var.name` without the `:N` and `/replica_N` suffixes."""
  return _DECORATION.sub('', var.name, count=1)


def matches_any(name: str, patterns: Optional[Iterable[str]]) -> bool:
  """Whether any regex in `patterns` (None means none) occurs in `name`."""
  return any(re.search(pattern, name) for pattern in patterns or ())
