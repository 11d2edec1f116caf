"""Runs a TFM program, unedited, on official_like's core.

  python -m official_like.common.run_tfm official.vision.train \
      --experiment=resnet_imagenet --mode=train --model_dir=/tmp/r ...

PROGRAM (the first argument) is a module, such as TFM's
`official.vision.train` or `official.nlp.train` or a user's
`my_project.train`, or the path of a `.py` file. The remaining arguments are
the program's own flags. The program runs as `__main__`, exactly as
`python -m PROGRAM` would run it, after `tfm_redirect.install()`.

A runner, not an import to add: TFM's binaries import `official.core` in
their first lines, so the redirect has to be in place before the program's
own code runs, and the binaries a user runs are in site-packages where
nobody should edit them. A user's own script can instead start with
`from official_like.common import tfm_redirect; tfm_redirect.install()`
before its first `official` import.
"""
import importlib.util
import os
import runpy
import sys
from typing import Sequence

from official_like.common import tfm_redirect

USAGE = ('usage: python -m official_like.common.run_tfm PROGRAM [FLAG ...]; PROGRAM is a module '
         '(e.g. official.vision.train) or a .py file')


class ProgramNotFound(ImportError):
  pass


def _check(program: str) -> None:
  if program.endswith('.py'):
    if not os.path.isfile(program):
      raise ProgramNotFound(f'no such file {program!r}')
    return
  try:
    found = importlib.util.find_spec(program) is not None
  except ModuleNotFoundError:  # A missing parent package.
    found = False
  if not found:
    raise ProgramNotFound(f'no module named {program!r}')


def run(program: str, args: Sequence[str]) -> None:
  """Runs `program` as `__main__` with `sys.argv = [program, *args]`, on our core.

  Raises:
    ProgramNotFound: `program` is neither an importable module nor a file.
  """
  tfm_redirect.install()  # Before find_spec: it imports the parent packages.
  _check(program)
  sys.argv = [program, *args]
  if program.endswith('.py'):
    runpy.run_path(program, run_name='__main__')
  else:
    runpy.run_module(program, run_name='__main__', alter_sys=True)


def main(argv: Sequence[str]) -> int:
  if len(argv) < 2 or argv[1].startswith('-'):
    print(USAGE, file=sys.stderr)
    return 2
  try:
    run(argv[1], argv[2:])
  except ProgramNotFound as e:
    print(f'run_tfm: error: {e}; {USAGE}', file=sys.stderr)
    return 2
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv))
