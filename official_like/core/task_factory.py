"""Tasks by config class: a TaskConfig subclass names the Task that runs it.

Two ways, as in TFM: `register_task_cls(ConfigCls)` on the Task, or
`hyperparams.bind(ConfigCls)`, which sets the config's `BUILDER`.
"""
from typing import Callable, Optional

from official_like.common import user_modules
from official_like.core import config_definitions as cfg
from official_like.modeling.hyperparams.registry import Registry
from official_like.modeling.hyperparams.registry import RegistryError

_TASKS = Registry('task', describe=lambda c: getattr(c, '__name__', str(c)))


def register_task_cls(task_config_cls: type) -> Callable:
  """Decorates a Task subclass; `get_task` then builds it for that config class."""
  return _TASKS.register(task_config_cls)


def get_task_cls(task_config_cls: type) -> Callable:
  """The registered Task for `task_config_cls` or its nearest registered base.

  A config class may name the module that registers its Task in
  `TASK_MODULE`; that module is imported on first use, so configs can be
  registered and checked without importing TensorFlow.
  """
  for klass in task_config_cls.__mro__:
    if klass not in _TASKS and getattr(klass, 'TASK_MODULE', None):
      user_modules.import_user_module(
          klass.TASK_MODULE, 'task',
          f'{klass.__name__}.TASK_MODULE: cannot import module {klass.TASK_MODULE!r}')
    if klass in _TASKS:
      return _TASKS.lookup(klass)
  name = task_config_cls.__name__
  raise RegistryError(('task',), f'unknown task {name!r}; no Task is registered for it: '
                      f'decorate your Task class with @task_factory.register_task_cls({name}) '
                      '(in a module --import imports), or name that module in '
                      f'{name}.TASK_MODULE'
                      + (f"; valid tasks: {', '.join(_TASKS.names())}" if _TASKS.names() else ''))


def get_task(task_config: cfg.TaskConfig, logging_dir: Optional[str] = None,
             **kwargs):
  """The Task for `task_config`: its bound BUILDER, else the registered class.

  `task_config.name`, when set, names the Task (a `tf.Module`).
  """
  builder = getattr(task_config, 'BUILDER', None) or get_task_cls(type(task_config))
  if getattr(task_config, 'name', None) and 'name' not in kwargs:
    kwargs['name'] = task_config.name
  return builder(task_config, logging_dir=logging_dir, **kwargs)
