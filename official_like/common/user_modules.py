"""One importer for the user's modules: `--import`, `--experiment=module:name`, entry points.

Each way of naming a module ends in the same two mistakes: a file given as a
module name from its own folder (`--experiment=bc:breast_cancer` next to
`bc.py`; Python searches the script's directory, not the current one), or a
path mistyped. The error says which, and what to write instead. A module
that is found but fails inside (a missing dependency of its own) keeps its
own message.
"""
import importlib
import importlib.util
import os
import sys

from official_like.modeling.hyperparams import ConfigError


def _hint(module: str, instead: str) -> str:
  """What to write instead of a module name Python cannot find."""
  path = module.replace('.', os.sep)
  for candidate in (path + '.py', os.path.join(path, '__init__.py')):
    if os.path.isfile(candidate):
      return (f'; {candidate} is in the current directory, which Python does not search '
              f'here: give the file, {instead.format(file=candidate)}, or run with '
              'PYTHONPATH=.')
  return ('; for a file give its path (--import=path/to/file.py), for a module put its '
          'folder on PYTHONPATH')


def _import_file(path: str) -> None:
  if not os.path.isfile(path):
    raise ImportError(f'no such file {path!r}')
  name = os.path.splitext(os.path.basename(path))[0]
  spec = importlib.util.spec_from_file_location(name, path)
  module = importlib.util.module_from_spec(spec)
  sys.modules[name] = module
  spec.loader.exec_module(module)


def import_user_module(entry: str, flag: str, what: str = '',
                       instead: str = '--import={file}') -> None:
  """Imports `entry` (a dotted module name or a .py path); ConfigError naming `flag` if not.

  `what` names the entry in the message (default: `entry` itself); `instead`
  is the flag(s) to suggest for a file found in the current directory.
  """
  try:
    if entry.endswith('.py'):
      _import_file(entry)
    else:
      importlib.import_module(entry)
  except ImportError as e:
    missing = getattr(e, 'name', None)
    hint = _hint(entry, instead) if missing and entry.split('.')[0] == missing.split('.')[0] else ''
    raise ConfigError((flag,), f'{what or repr(entry)}: {e}{hint}') from None
