"""One parser for every textual way of overriding a config.

`--params_override` in TFM accepts `a.b=1,c=[1,2]` lists, YAML or JSON text, and
YAML file paths; `--config_file` accepts files. All of them end up here and
come back as a nested dict, so every entry point has the same syntax and the
same error messages. YAML is read with `yaml_loader.load` only (a safe loader).
"""
import os
import re
from typing import Any, Dict, List

from official_like.modeling.hyperparams import yaml_loader
from official_like.modeling.hyperparams.errors import ConfigError

_KEY = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$')
_OVERRIDE_START = re.compile(r'^\s*[A-Za-z_][A-Za-z0-9_.]*\s*=')
_INT = re.compile(r'^[-+]?\d+$')
_OPEN, _CLOSE = '[{(', ']})'
_YAML11_BOOL_WORDS = ('yes', 'no', 'on', 'off', 'y', 'n')
_YAML_SUFFIXES = ('.yaml', '.yml', '.json')


def load_yaml_file(path: str, source: str = 'config_file') -> Dict[str, Any]:
  """Reads a YAML (or JSON) file that must hold a mapping."""
  if not os.path.isfile(path):
    raise ConfigError((), f'{source}: file not found: {path!r}')
  with open(path, encoding='utf-8') as f:
    return _as_mapping(yaml_loader.load(f.read(), f'{source} {path!r}'),
                       f'{source} {path!r}')


def parse(text: Any, source: str = 'params_override') -> Dict[str, Any]:
  """Turns an override given as a dict, file path, YAML/JSON or `k=v` list into a dict.

  `source` names the flag or argument in error messages.
  """
  if isinstance(text, dict):
    return text
  if not isinstance(text, str):
    raise ConfigError((), f'{source}: expected a mapping or a string, got '
                      f'{type(text).__name__} {text!r}')
  stripped = text.strip()
  if not stripped:
    return {}
  if os.path.isfile(stripped) or (
      stripped.endswith(_YAML_SUFFIXES) and '\n' not in stripped
      and '=' not in stripped and ':' not in stripped):
    return load_yaml_file(stripped, source)
  if _OVERRIDE_START.match(stripped):
    return parse_key_values(stripped, source)
  return _as_mapping(yaml_loader.load(stripped, source), source)


def parse_key_values(text: str, source: str = 'params_override') -> Dict[str, Any]:
  """Parses `a.b=1,c.d=[1,2],e='x,y'` into a nested dict."""
  result: Dict[str, Any] = {}
  for item in split_top_level(text, source):
    if '=' not in item:
      raise ConfigError((), f"{source}: expected 'key=value', got {item!r}")
    key, raw = item.split('=', 1)
    key = key.strip()
    if not _KEY.match(key):
      raise ConfigError((), f'{source}: bad key {key!r} in {item!r}; keys are '
                        'dotted names such as trainer.train_steps')
    node = result
    parts = key.split('.')
    for i, part in enumerate(parts[:-1]):
      child = node.setdefault(part, {})
      if not isinstance(child, dict):
        raise ConfigError((), f"{source}: key {'.'.join(parts[:i + 1])!r} is set "
                          f'to a value and also used as a section in {key!r}')
      node = child
    node[parts[-1]] = _scalar(raw.strip(), source, key)
  return result


def _scalar(raw: str, source: str, key: str) -> Any:
  """One override value; only true/false are booleans (YAML 1.2), so `off` stays a string."""
  if _INT.match(raw):
    return int(raw)
  if yaml_loader.is_float_literal(raw):
    return float(raw)
  if raw.lower() in _YAML11_BOOL_WORDS:
    return raw
  return yaml_loader.load(raw, f'{source} value of {key!r}') if raw else None


def split_top_level(text: str, source: str) -> List[str]:
  """Splits on commas that are outside brackets and quotes."""
  items, depth, quote, start = [], 0, None, 0
  for i, ch in enumerate(text):
    if quote:
      quote = None if ch == quote else quote
    elif ch in '\'"':
      quote = ch
    elif ch in _OPEN:
      depth += 1
    elif ch in _CLOSE:
      depth -= 1
      if depth < 0:
        raise ConfigError((), f'{source}: unbalanced {ch!r} in {text!r}')
    elif ch == ',' and depth == 0:
      items.append(text[start:i])
      start = i + 1
  if quote or depth:
    raise ConfigError((), f'{source}: unclosed quote or bracket in {text!r}')
  items.append(text[start:])
  return [item.strip() for item in items if item.strip()]


def _as_mapping(value: Any, source: str) -> Dict[str, Any]:
  if value is None:
    return {}
  if not isinstance(value, dict):
    raise ConfigError((), f"{source}: expected a mapping ('key: value' YAML, "
                      f"JSON object or 'a.b=1,c=2'), got {type(value).__name__} "
                      f'{value!r}')
  return value
