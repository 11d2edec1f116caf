"""What a run asks of its model directory, checked before TensorFlow is imported.

A directory that cannot hold the run, an evaluation with nothing to
evaluate, or a directory that holds another model's run would otherwise
fail late: after params.yaml was replaced, or with a shape-mismatch
traceback, or by evaluating (and exporting) random weights. Only local
paths are inspected; `gs://` and other remote directories are left to the
run itself.
"""
import os
import tempfile

import yaml

from official_like.modeling.hyperparams import Config
from official_like.modeling.hyperparams import ConfigError
from official_like.modeling.hyperparams.diff import changed_values
from official_like.run import file_patterns

# Task keys a resumed run may change: where the data comes from and the warm start.
_RESUMABLE_TASK_KEYS = ('train_data', 'validation_data', 'init_checkpoint')


def check_usable(model_dir: str) -> None:
  """The directory exists or can be made, and can be written to."""
  if not model_dir:
    raise ConfigError(('--model_dir',), 'is required: the directory for '
                      'checkpoints, summaries and params.yaml')
  if file_patterns.is_remote(model_dir):
    return
  if os.path.exists(model_dir) and not os.path.isdir(model_dir):
    raise ConfigError(('--model_dir',), f'{model_dir!r} is a file, not a directory')
  parent = model_dir
  while not os.path.exists(parent):
    parent = os.path.dirname(os.path.abspath(parent))
  if not os.access(parent, os.W_OK | os.X_OK):
    raise ConfigError(('--model_dir',), f'{model_dir!r} is not writable '
                      f'(no write permission on {parent!r})')
  if parent != model_dir:
    _check_can_create(model_dir, parent)


def _check_can_create(model_dir: str, parent: str) -> None:
  """Makes and removes a directory in `parent`: permissions alone do not say (/proc, root)."""
  try:
    os.rmdir(tempfile.mkdtemp(prefix='.model_dir_check-', dir=parent))
  except OSError as e:
    raise ConfigError(('--model_dir',), f'{model_dir!r} cannot be created in '
                      f'{parent!r} ({e.strerror})') from None


def check_fits(params: Config, mode: str, model_dir: str) -> None:
  """The warm start exists, `eval` has a checkpoint, a resumed model_dir holds this run."""
  if file_patterns.is_remote(model_dir):
    return
  has_checkpoint = os.path.exists(os.path.join(model_dir, 'checkpoint'))
  if mode == 'eval' and not has_checkpoint and not params.task.init_checkpoint:
    raise ConfigError(('--model_dir',), f'{model_dir!r} has no checkpoint to evaluate '
                      '(and task.init_checkpoint is not set); train first or point '
                      '--model_dir at a trained run')
  init = params.task.init_checkpoint
  if init and not file_patterns.is_remote(init) and not (
      os.path.isfile(os.path.join(init, 'checkpoint')) or os.path.isfile(init + '.index')):
    raise ConfigError(('task', 'init_checkpoint'), f'no checkpoint at {init!r} (a '
                      'checkpoint prefix such as .../ckpt-100, or a directory holding one)')
  path = os.path.join(model_dir, 'params.yaml')
  if not os.path.isfile(path):
    return
  with open(path, encoding='utf-8') as f:
    try:
      earlier = yaml.safe_load(f) or {}
    except yaml.YAMLError:
      earlier = None
  if not isinstance(earlier, dict) or not isinstance(earlier.get('task'), dict):
    return  # Not a run's params.yaml; the run keeps a backup before replacing it.
  task = {k: v for k, v in params.task.as_dict().items() if k not in _RESUMABLE_TASK_KEYS}
  before = {k: v for k, v in earlier['task'].items() if k not in _RESUMABLE_TASK_KEYS}
  differences = list(changed_values(before, task, 'task.'))
  if differences:
    raise ConfigError(('--model_dir',), _another_run(model_dir, differences))


def _another_run(model_dir: str, differences) -> str:
  """'trained with X; you asked for Y', on the difference that says the most.

  A changed `type` (another model) says more than the leaves under it, and
  a leaf more than a whole section appearing or vanishing.
  """
  def weight(item):
    key, old, new = item
    return (not key.endswith('.type'), isinstance(old, dict) or isinstance(new, dict),
            key.count('.'))
  key, old, new = min(differences, key=weight)
  more = len(differences) - 1
  return (f'{model_dir!r} was trained with {key}={_shown(old)}; you asked for '
          f'{key}={_shown(new)}'
          + (f' ({more} more task setting{"s" * (more > 1)} differ{"s" * (more == 1)})'
             if more else '')
          + '. Use a new --model_dir, or the same task settings to resume that run')


def _shown(value) -> str:
  if value is None:
    return 'unset'
  return '{...}' if isinstance(value, dict) else repr(value)
