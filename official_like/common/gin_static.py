"""Gin configurables read from source files, so a binding's typo is caught before TensorFlow.

The modules that register our configurables (`train_lib`, `actions`, the
digits task, ...) import TensorFlow, so gin learns their names only after a
5-10 s import, and a misspelt `--gin_params` or gin file binding used to be
reported that late. Their names and parameters are in the source: each
`@gin.configurable(...)` decorator is read here with `ast`, without importing
anything. `check` then refuses, before TensorFlow, a binding whose
configurable is known and has no such parameter, or whose configurable is
unknown but close to a known one. Anything else (a configurable registered
by a module that is not scanned) is left to gin's own parse, after import.
"""
import ast
import difflib
import os
from typing import Dict, Iterable, List, Optional, Tuple

import gin

from official_like.modeling.hyperparams import ConfigError
from official_like.modeling.hyperparams.errors import suggestion

# Full name ('module.name') -> its bindable parameters (None: it takes **kwargs).
Known = Dict[str, Optional[List[str]]]


def _literal(node, default=None):
  try:
    return ast.literal_eval(node)
  except ValueError:
    return default


def _decorator(node) -> Optional[ast.AST]:
  """The `gin.configurable` decorator of a def or class, if it has one."""
  for decorator in node.decorator_list:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    if isinstance(target, ast.Attribute) and target.attr == 'configurable' and (
        isinstance(target.value, ast.Name) and target.value.id == 'gin'):
      return decorator
  return None


def _parameters(node, denylist) -> Optional[List[str]]:
  if isinstance(node, ast.ClassDef):
    node = next((n for n in node.body if isinstance(n, ast.FunctionDef)
                 and n.name == '__init__'), None)
    if node is None:
      return None
  args = node.args
  if args.kwarg is not None:
    return None
  names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
  return [n for n in names if n not in ('self', 'cls') and n not in denylist]


def _configurables(path: str, module: str) -> Known:
  with open(path, encoding='utf-8') as f:
    text = f.read()
  if 'gin.configurable' not in text:
    return {}  # Parsing every file would cost ~0.3 s.
  tree = ast.parse(text, path)
  found = {}
  for node in ast.walk(tree):
    if not isinstance(node, (ast.FunctionDef, ast.ClassDef)):
      continue
    decorator = _decorator(node)
    if decorator is None:
      continue
    options = {k.arg: _literal(k.value) for k in getattr(decorator, 'keywords', [])}
    positional = [_literal(a) for a in getattr(decorator, 'args', [])]
    name = positional[0] if positional and isinstance(positional[0], str) else (
        options.get('name') or node.name)
    found[f"{options.get('module') or module}.{name}"] = _parameters(
        node, options.get('denylist') or ())
  return found


def scan(roots: Iterable[str]) -> Known:
  """Every configurable declared under the package directories `roots`."""
  known = {}
  for root in roots:
    base = os.path.dirname(os.path.abspath(root))
    for directory, _, files in os.walk(root):
      for name in sorted(files):
        if name.endswith('.py'):
          path = os.path.join(directory, name)
          module = os.path.relpath(path, base)[:-3].replace(os.sep, '.')
          known.update(_configurables(path, module.removesuffix('.__init__')))
  return known


def _matches(selector: str, full: str) -> bool:
  return full == selector or full.endswith('.' + selector)


def _statements(files: List[str], bindings: List[str]) -> Iterable[Tuple[str, str, object]]:
  """(flag, what, BindingStatement) for every binding in the files, then the flags."""
  delegate = gin.config.ParserDelegate(skip_unknown=True)
  for path in files:
    with open(path, encoding='utf-8') as f:
      for statement in gin.config_parser.ConfigParser(f, delegate):
        yield '--gin_file', path, statement
  for binding in bindings:
    for statement in gin.config_parser.ConfigParser(binding, delegate):
      yield '--gin_params', binding, statement


def check(files: List[str], bindings: List[str], known: Known) -> None:
  """Raises ConfigError for a binding `known` says is wrong; see the module docstring."""
  registered = {name for name, _ in gin.config._REGISTRY.items()}  # pylint: disable=protected-access
  for flag, what, statement in _statements(files, bindings):
    selector = getattr(statement, 'selector', None)
    if not selector or any(_matches(selector, name) for name in registered):
      continue  # gin's own parse checks what it has registered.
    matching = [name for name in known if _matches(selector, name)]
    where = what if flag == '--gin_params' else f'{what}: {selector}.{statement.arg_name}'
    if len(matching) == 1 and known[matching[0]] is not None:
      parameters = known[matching[0]]
      if statement.arg_name not in parameters:
        raise ConfigError((flag,), f'{where}: {selector} has no parameter '
                          f"{statement.arg_name!r}; {suggestion(statement.arg_name, parameters, 'parameters')}")
    elif not matching:
      depth = selector.count('.') + 1
      names = sorted({'.'.join(n.split('.')[-depth:]) for n in set(known) | registered})
      if difflib.get_close_matches(selector, names, n=1, cutoff=0.8):
        raise ConfigError((flag,), f"{where}: no configurable {selector!r}; "
                          f"{suggestion(selector, names, 'configurables')}")
