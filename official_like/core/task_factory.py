"""Tasks by config class: a TaskConfig subclass names the Task that runs it."""
from typing import Callable, Optional

from official_like.core import config_definitions as cfg
from official_like.core.registry import Registry

_TASKS = Registry('task', describe=lambda c: getattr(c, '__name__', str(c)))


def register_task_cls(task_config_cls: type) -> Callable:
  """Decorates a Task subclass; `get_task` then builds it for that config class."""
  return _TASKS.register(task_config_cls)


def get_task(task_config: cfg.TaskConfig, logging_dir: Optional[str] = None,
             **kwargs):
  """The registered Task for `type(task_config)` (or its nearest base class)."""
  for klass in type(task_config).__mro__:
    if klass in _TASKS:
      return _TASKS.lookup(klass)(task_config, logging_dir=logging_dir, **kwargs)
  raise _TASKS.missing(type(task_config))
