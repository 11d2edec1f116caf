"""`input_path` globs, expanded the same way at config-check time and at read time.

The config check runs before TensorFlow is imported and uses Python's glob
on local paths; the input reader passes `tf.io.gfile.glob`, which also
reaches remote file systems. Both apply one rule: every glob must match.
"""
import glob
from typing import Callable, List, Sequence, Union


def is_remote(pattern: str) -> bool:
  """A `scheme://` path (gs://, s3://, ...), which only tf.io.gfile can list."""
  return '://' in pattern


def match_files(input_path: Union[str, Sequence[str]],
                glob_fn: Callable[[str], List[str]] = glob.glob) -> List[str]:
  """Expands `input_path` (a glob, comma-separated globs, or a list of them).

  Every glob must match at least one file: a typo in one of several globs
  would otherwise silently train on less data. The result is sorted and
  de-duplicated so every worker sees the same file list.
  """
  if isinstance(input_path, str):
    input_path = [input_path]
  if not isinstance(input_path, (list, tuple)) or not all(
      isinstance(p, str) for p in input_path):
    raise ValueError('`input_path` must be a str or a list of str, got '
                     f'{input_path!r}.')
  patterns = [p.strip() for path in input_path for p in path.split(',')]
  files = set()
  for pattern in filter(None, patterns):
    matched = glob_fn(pattern)
    if not matched:
      raise ValueError(f'`input_path` {input_path!r}: no file matched the '
                       f'glob {pattern!r}.')
    files.update(matched)
  if not files:
    raise ValueError(f'`input_path` {input_path!r} contains no glob.')
  return sorted(files)
