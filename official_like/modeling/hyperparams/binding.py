"""TFM's `bind`: attach the class or function that builds an object from a config.

`@bind(MyConfig)` on `class MyModel` (or on a `build_my_model` function) lets
code holding only the config reach its builder as `config.BUILDER`. A config
class is bound at most once per program: a second binding would silently
change what every existing config builds.
"""
import inspect
from typing import Any, Callable, Set

_BOUND: Set[type] = set()


def bind(config_cls: type) -> Callable[[Any], Any]:
  """Returns a decorator that makes its argument `config_cls`'s BUILDER."""
  if not inspect.isclass(config_cls):
    raise ValueError('bind() takes a config class (it decorates the builder '
                     f'with it); got {config_cls!r}, not a class.')

  def decorator(builder):
    if config_cls in _BOUND:
      raise ValueError(f'Inside a program, we should not bind the config with a '
                       f'class twice: {config_cls.__name__} already has a '
                       f'BUILDER ({config_cls._BUILDER!r})')  # pylint: disable=protected-access
    if inspect.isclass(builder):
      config_cls._BUILDER = builder  # pylint: disable=protected-access
    elif inspect.isfunction(builder):
      # Stored as a staticmethod so `config.BUILDER(...)` does not pass the config.
      config_cls._BUILDER = staticmethod(builder)  # pylint: disable=protected-access
    else:
      raise ValueError(f'The `BUILDER` type is not supported: {builder!r}; '
                       'bind a class or a function')
    _BOUND.add(config_cls)
    return builder

  return decorator
