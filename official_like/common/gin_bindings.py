"""Gin files and bindings, with errors that name the binding and suggest the fix.

`parse(..., check_only=True)` runs before TensorFlow is imported: it checks
the syntax and every value, and the names of configurables that are not
registered yet against those declared in our source (`gin_static`). The full parse, after the library's configurables exist, also checks
their names and parameters. Gin's own messages ("malformed node or string
... <ast.Name object>") become one line saying what to write instead.
"""
import inspect
import os
import re
import tokenize
from typing import Iterable, List, Optional, Sequence

import gin

from official_like.common import gin_static
from official_like.modeling.hyperparams import ConfigError
from official_like.modeling.hyperparams.errors import suggestion

_BARE_TOKEN = re.compile(r"Failed to parse token '([^']*)'")
_NO_PARAMETER = re.compile(r"Configurable '([^']+)' doesn't have a parameter named '([^']+)'")
_NO_CONFIGURABLE = re.compile(r"No configurable matching '([^']+)'")


def _configurables() -> List[str]:
  return sorted(selector for selector, _ in gin.config._REGISTRY.items())  # pylint: disable=protected-access


def _parameters(selector: str) -> List[str]:
  try:
    configurable = gin.config._REGISTRY.get_match(selector)  # pylint: disable=protected-access
    return list(inspect.signature(configurable.wrapped).parameters)
  except (KeyError, TypeError, ValueError, AttributeError):
    return []


def _explain(error: Exception, binding: str) -> str:
  """One line: the binding, what is wrong, and the fix."""
  text = str(error)
  bare = _BARE_TOKEN.search(text)
  if bare:
    name = binding.split('=', 1)[0].strip().rsplit('.', 1)[-1]
    return (f"{binding}: {bare[1]!r} is not a value gin can read; string values need "
            f"quotes: {name}='{bare[1]}'")
  unknown = _NO_PARAMETER.search(text)
  if unknown:
    return (f'{binding}: {unknown[1]} has no parameter {unknown[2]!r}; '
            f"{suggestion(unknown[2], _parameters(unknown[1]), 'parameters')}")
  missing = _NO_CONFIGURABLE.search(text)
  if missing:
    return (f'{binding}: no configurable {missing[1]!r}; '
            f"{suggestion(missing[1], _configurables(), 'configurables')}")
  return f'{binding}: {text.splitlines()[0]}'


def parse(files: Sequence[str], bindings: Iterable[str], check_only: bool = False,
          known: Optional[gin_static.Known] = None) -> None:
  """Parses gin files then bindings; raises ConfigError naming the flag and the binding.

  With `check_only`, `known` (from `gin_static.scan`) also checks the names
  of configurables that are not registered yet.
  """
  files, bindings = list(files or []), [b for b in bindings or [] if b.strip()]
  for path in files:
    if not os.path.isfile(path):
      raise ConfigError(('--gin_file',), f'file not found: {path!r}')
  gin.clear_config()
  try:
    for path in files:
      _parse_one(lambda p=path: gin.parse_config_file(p, skip_unknown=check_only),
                 '--gin_file', path)
    for binding in bindings:
      _parse_one(lambda b=binding: gin.parse_config(b, skip_unknown=check_only),
                 '--gin_params', binding)
  finally:
    if check_only:
      gin.clear_config()
  if check_only and known is not None:
    gin_static.check(files, bindings, known)


def _parse_one(parse_fn, flag: str, what: str) -> None:
  try:
    parse_fn()
  except (ValueError, KeyError, TypeError, SyntaxError, tokenize.TokenError) as e:
    raise ConfigError((flag,), _explain(e, what)) from None
