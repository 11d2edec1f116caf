"""What differs between two config dicts, one `key.path: old -> new` line per leaf.

Used to say exactly what a Task changed in its optimizer config, and which
key makes a model directory belong to another run.
"""
from typing import Any, Iterator, Mapping, Tuple


def changed_values(before: Mapping[str, Any], after: Mapping[str, Any],
                   prefix: str = '') -> Iterator[Tuple[str, Any, Any]]:
  """(key.path, old, new) for every leaf that differs, in key order."""
  for key in sorted(set(before) | set(after)):
    old, new = before.get(key), after.get(key)
    if isinstance(old, Mapping) and isinstance(new, Mapping):
      yield from changed_values(old, new, f'{prefix}{key}.')
    elif old != new:
      yield f'{prefix}{key}', old, new


def changed_keys(before: Mapping[str, Any], after: Mapping[str, Any],
                 prefix: str = '') -> Iterator[str]:
  for key, old, new in changed_values(before, after, prefix):
    yield f'{key}: {old!r} -> {new!r}'
