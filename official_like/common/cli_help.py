"""`--help` and `-h` of a training binary: the flags a user needs, on one screen.

absl's `--help` lists only the main module's flags (here `--import`) and
exits 1; the training flags are among the ~100 of `--helpfull`, and `-h`
is an unknown flag. `wants_help` spots the request before absl parses
anything, and `render` writes one line per flag from the flags' own help
texts, then what the binary adds (its modes, the registered experiments,
an example). Nothing here imports TensorFlow.
"""
import re
from typing import Iterable, Mapping, Sequence

from absl import flags

HELP_ARGS = ('-h', '-help', '--help', '-?', '--helpshort', '-helpshort')


def wants_help(argv: Sequence[str]) -> bool:
  """True when an argument before a bare `--` asks for help."""
  for arg in argv[1:]:
    if arg == '--':
      return False
    if arg in HELP_ARGS:
      return True
  return False


_METAVARS = {'experiment': 'NAME', 'mode': 'MODE', 'model_dir': 'DIR',
             'config_file': 'FILE', 'params_override': 'S', 'gin_file': 'FILE',
             'gin_params': 'BINDING', 'import': 'MODULE', 'tpu': 'ADDR',
             'tf_data_service': 'ADDR'}


def _metavar(flag: flags.Flag) -> str:
  if flag.name in _METAVARS:
    return _METAVARS[flag.name]
  return 'N' if isinstance(flag.parser, flags.IntegerParser) else 'VALUE'


def flag_lines(flag_values: flags.FlagValues, names: Iterable[str]) -> list:
  """`--name=METAVAR  help` for each flag, aligned; the help's first line only."""
  rows = []
  for name in names:
    flag = flag_values[name]
    # absl puts an enum's values in front of its help and a list flag's note after it.
    text = re.sub(r'^<[^>]*>: ', '', (flag.help or '').strip().splitlines()[0]).rstrip(';')
    rows.append((f'--{name}={_metavar(flag)}', text))
  width = max(len(left) for left, _ in rows)
  return [f'  {left:<{width}}  {text}'.rstrip() for left, text in rows]


def render(prog: str, summary: str, flag_values: flags.FlagValues,
           names: Iterable[str], sections: Mapping[str, Sequence[str]]) -> str:
  """The whole help text: usage, the flags, then each titled section."""
  out = [f'usage: {prog} --experiment=NAME --model_dir=DIR [--mode=MODE] [flags]', '',
         summary, '', 'flags:', *flag_lines(flag_values, names)]
  for title, lines in sections.items():
    out += ['', f'{title}:', *(f'  {line}' for line in lines)]
  return '\n'.join(out) + '\n'
