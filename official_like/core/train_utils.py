"""Set-up helpers around a run: params.yaml, batch checks, precision, the trainer.

The names are TFM's (`serialize_config`, `create_trainer`,
`BestCheckpointExporter`, ...), so code written against
`official.core.train_utils` keeps working. Config parsing lives in the
TensorFlow-free `experiment_parser` and is re-exported here.
"""
import inspect
import json
import os
import time
from typing import Any, Callable, Dict, List, Optional

from absl import logging
import gin
import orbit
import tensorflow as tf
import tf_keras

from official_like.common import flags
from official_like.core import base_task
from official_like.core import base_trainer
from official_like.core import config_definitions as cfg
from official_like.core.experiment_parser import ExperimentParser  # pylint: disable=unused-import
from official_like.core.experiment_parser import parse_configuration  # pylint: disable=unused-import
from official_like.core.experiment_parser import ParseConfigOptions  # pylint: disable=unused-import
from official_like.core.flops import try_count_flops  # pylint: disable=unused-import
from official_like.modeling.hyperparams import ConfigError
from official_like.modeling.hyperparams.diff import changed_keys
from official_like.modeling.optimization import optimizer_factory
from official_like.run import seeding

BEST_CHECKPOINT_NAME = 'best_ckpt'


def get_leaf_nested_dict(d: Dict[str, Any], keys: List[str]) -> Any:
  """`d[k0][k1]...`; KeyError when the path is missing or ends on a dict."""
  leaf = d
  for key in keys:
    if not isinstance(leaf, dict) or key not in leaf:
      raise KeyError(f'Path not exist while traversing the dictionary: keys {keys} '
                     f'are not all in {d}')
    leaf = leaf[key]
  if isinstance(leaf, dict):
    raise KeyError(f'The value extracted with keys: {keys} is not a leaf of {d}')
  return leaf


def cast_leaf_nested_dict(d: Dict[str, Any], cast_fn: Callable[[Any], Any]) -> Dict[str, Any]:
  """Applies `cast_fn` to every leaf of `d`, in place; returns `d`."""
  for key, value in d.items():
    d[key] = cast_leaf_nested_dict(value, cast_fn) if isinstance(value, dict) else cast_fn(value)
  return d


def _scalar_leaves(d: Dict[str, Any]) -> Dict[str, Any]:
  """A copy of `d` without non-scalar leaves (images and the like)."""
  out = {}
  for key, value in d.items():
    if isinstance(value, dict):
      out[key] = _scalar_leaves(value)
    elif tf.rank(value) <= 1:
      out[key] = value
  return out


class BestCheckpointExporter:
  """Keeps the checkpoint with the best value of one eval metric.

  The best eval logs so far live in `export_dir/info.json`, so a restarted
  run keeps comparing against them. `metric_name` reaches into nested logs
  with `|`, e.g. `'coco|AP'`.
  """

  def __init__(self, export_dir: str, metric_name: str, metric_comp: str):
    if metric_comp not in ('lower', 'higher'):
      raise ValueError("best checkpoint metric_comp must be 'higher' or 'lower', "
                       f'got {metric_comp!r}')
    self._export_dir = export_dir
    self._metric_path = metric_name.split('|')
    self._higher = metric_comp == 'higher'
    self._best_ckpt_logs = None
    if tf.io.gfile.exists(self.best_ckpt_logs_path):
      with tf.io.gfile.GFile(self.best_ckpt_logs_path) as f:
        self._best_ckpt_logs = json.loads(f.read())
    self._manager = None

  def _value(self, logs) -> float:
    try:
      return float(orbit.utils.get_value(get_leaf_nested_dict(logs, self._metric_path)))
    except KeyError:
      raise ConfigError(('trainer', 'best_checkpoint_eval_metric'),
                        f"{'|'.join(self._metric_path)!r} is not an eval output; "
                        f"available: {', '.join(sorted(logs))}") from None

  def _is_better(self, logs) -> bool:
    new = self._value(logs)
    if self._best_ckpt_logs is None:
      return True
    old = self._value(self._best_ckpt_logs)
    return new > old if self._higher else new < old

  def maybe_export_checkpoint(self, checkpoint, eval_logs, global_step,
                              write_logs: bool = True) -> bool:
    """Saves `checkpoint` (and, with `write_logs`, info.json) if `eval_logs` is better."""
    if not self._is_better(eval_logs):
      return False
    self._best_ckpt_logs = eval_logs
    if write_logs:
      self.export_best_eval_metric(eval_logs, global_step)
    if self._manager is None or self._manager.checkpoint is not checkpoint:
      self._manager = tf.train.CheckpointManager(
          checkpoint, self._export_dir, max_to_keep=1,
          checkpoint_name=BEST_CHECKPOINT_NAME)
    self._manager.save()
    return True

  def export_best_eval_metric(self, eval_logs, global_step) -> None:
    """Writes the scalar eval logs and the step to info.json."""
    logs = _scalar_leaves(eval_logs)
    logs['best_ckpt_global_step'] = global_step
    logs = cast_leaf_nested_dict(logs, lambda x: float(orbit.utils.get_value(x)))
    tf.io.gfile.makedirs(self._export_dir)
    with tf.io.gfile.GFile(self.best_ckpt_logs_path, 'w') as f:
      f.write(json.dumps(logs, indent=4) + '\n')

  @property
  def best_ckpt_logs(self):
    return self._best_ckpt_logs

  @property
  def best_ckpt_logs_path(self) -> str:
    return os.path.join(self._export_dir, 'info.json')

  @property
  def best_ckpt_path(self) -> Optional[str]:
    return tf.train.latest_checkpoint(self._export_dir)


def maybe_create_best_ckpt_exporter(params: cfg.ExperimentConfig,
                                    data_dir: str) -> Optional[BestCheckpointExporter]:
  """The exporter the trainer config asks for, or None.

  A metric without an export subdir is allowed, as in TFM, but exports
  nothing; since nobody sets the metric for nothing, that is said.
  """
  t = params.trainer
  if t.best_checkpoint_eval_metric and not t.best_checkpoint_export_subdir:
    logging.warning('trainer.best_checkpoint_eval_metric=%r is set but '
                    'trainer.best_checkpoint_export_subdir is empty, so no best checkpoint '
                    'is exported; set it (e.g. best_ckpt) or clear the metric',
                    t.best_checkpoint_eval_metric)
  if not (data_dir and t.best_checkpoint_export_subdir and t.best_checkpoint_eval_metric):
    return None
  return BestCheckpointExporter(os.path.join(data_dir, t.best_checkpoint_export_subdir),
                                t.best_checkpoint_eval_metric, t.best_checkpoint_metric_comp)


def create_optimizer(task: base_task.Task, params: cfg.ExperimentConfig):
  """`task.create_optimizer`, passing `dp_config` only to tasks that take it."""
  if 'dp_config' in inspect.signature(task.create_optimizer).parameters:
    return task.create_optimizer(params.trainer.optimizer_config, params.runtime,
                                 dp_config=params.task.differential_privacy_config)
  return task.create_optimizer(params.trainer.optimizer_config, params.runtime)


@gin.configurable(module='official_like')
def create_trainer(params: cfg.ExperimentConfig, task: base_task.Task, train: bool,
                   evaluate: bool, checkpoint_exporter=None,
                   trainer_cls=base_trainer.Trainer) -> base_trainer.Trainer:
  """Model and optimizer from the task, wrapped in `trainer_cls`; call under the scope.

  With `runtime.seed` set, everything is built seeded (see `seeding.seeded`):
  the model's initial weights, its random layers and the input shuffling.
  """
  with seeding.seeded(getattr(params.runtime, 'seed', None)):
    model = task.build_model()
    if model is None:
      raise TypeError(f'{type(task).__name__}.build_model() returned None: a task that '
                      'trains must build its model')
    optimizer = create_optimizer(task, params)
    return trainer_cls(params, task, model=model, optimizer=optimizer, train=train,
                       evaluate=evaluate, checkpoint_exporter=checkpoint_exporter)


def record_effective_optimizer_config(params: cfg.ExperimentConfig, optimizer,
                                      model_dir: str) -> Optional[str]:
  """Writes model_dir/optimizer_config.effective.yaml when the Task changed the config.

  params.yaml holds the config as given; a Task may edit it in
  `create_optimizer` (e.g. clip harder). The difference is logged and the
  config really used is written next to params.yaml; returns that path.
  """
  used = optimizer_factory.built_from(optimizer)
  given = params.trainer.optimizer_config
  if used is None or used.as_dict() == given.as_dict():
    return None
  changes = list(changed_keys(given.as_dict(), used.as_dict()))
  logging.warning('The task changed trainer.optimizer_config in create_optimizer: %s',
                  '; '.join(changes))
  path = os.path.join(model_dir, 'optimizer_config.effective.yaml')
  tf.io.gfile.makedirs(model_dir)
  with tf.io.gfile.GFile(path, 'w') as f:
    f.write('# The optimizer config the task really used (params.yaml has the one '
            'given):\n' + ''.join(f'#   {c}\n' for c in changes) + used.as_yaml())
  return path


def serialize_config(params: cfg.ExperimentConfig, model_dir: str) -> str:
  """Writes the resolved config to model_dir/params.yaml; returns its path.

  A different params.yaml already there (from an earlier run) is kept as
  params.yaml.<unix time>[.n] rather than overwritten.
  """
  if model_dir is None:
    raise ValueError('model_dir must be specified, but got None')
  tf.io.gfile.makedirs(model_dir)
  path = os.path.join(model_dir, 'params.yaml')
  text = params.as_yaml()
  if tf.io.gfile.exists(path):
    with tf.io.gfile.GFile(path) as f:
      if f.read() == text:
        return path
    stamp = f'{path}.{int(time.time())}'
    backup, n = stamp, 0
    while tf.io.gfile.exists(backup):
      n += 1
      backup = f'{stamp}.{n}'
    tf.io.gfile.rename(path, backup)
  with tf.io.gfile.GFile(path, 'w') as f:
    f.write(text)
  return path


def save_gin_config(filename_suffix: str, model_dir: str) -> str:
  """Writes the gin bindings in use to model_dir/operative_config.<suffix>.gin."""
  name = f'operative_config.{filename_suffix}.gin' if filename_suffix else 'operative_config.gin'
  path = os.path.join(model_dir, name)
  tf.io.gfile.makedirs(model_dir)
  with tf.io.gfile.GFile(path, 'w') as f:
    f.write(gin.operative_config_str())
  return path


def check_batch_sizes(params: cfg.ExperimentConfig, replicas: int,
                      is_training: bool, is_evaluating: bool) -> None:
  """Global batches in use must split evenly over the replicas.

  Whether a batch size must be > 0 is the task's rule (TFM's mock task
  ignores it); the bundled experiments' data config checks that.
  """
  used = [('train_data', is_training), ('validation_data', is_evaluating)]
  for key, in_use in used:
    data = getattr(params.task, key)
    if not in_use or data is None:
      continue
    size = data.global_batch_size
    if size % replicas:
      raise ConfigError(('task', key, 'global_batch_size'), f'{size} does not '
                        f'split evenly over the {replicas} replicas in sync; use '
                        f'a multiple of {replicas}')


def check_mode_batch_sizes(params: cfg.ExperimentConfig, mode: str, replicas: int,
                           run_post_eval: bool = False) -> None:
  """`check_batch_sizes` for the data `mode` reads: the runner's and trainer_main.py's."""
  check_batch_sizes(params, replicas, flags.trains(mode),
                    flags.evaluates(mode, run_post_eval))


def set_mixed_precision_policy(runtime: cfg.RuntimeConfig) -> None:
  dtype = runtime.mixed_precision_dtype
  policy = f'mixed_{dtype}' if dtype in ('float16', 'bfloat16') else 'float32'
  tf_keras.mixed_precision.set_global_policy(policy)


def read_global_step_from_checkpoint(ckpt_file_path: str) -> int:
  """The `global_step` saved in a checkpoint; ValueError if it has none."""
  try:
    return int(tf.train.load_checkpoint(ckpt_file_path).get_tensor(
        'global_step/.ATTRIBUTES/VARIABLE_VALUE'))
  except (tf.errors.NotFoundError, tf.errors.InvalidArgumentError, ValueError):
    raise ValueError(f'global_step not found in checkpoint {ckpt_file_path}') from None


def write_json_summary(log_dir: str, global_step: int, eval_metrics) -> None:
  """Writes eval metrics to log_dir/metrics-<step>.json (values as strings)."""
  logs = {k: str(v.numpy() if hasattr(v, 'numpy') else v) for k, v in eval_metrics.items()}
  with tf.io.gfile.GFile(os.path.join(log_dir, f'metrics-{global_step}.json'), 'w') as f:
    f.write(json.dumps(logs, indent=4) + '\n')


def write_summary(summary_writer, global_step: int, eval_metrics) -> None:
  """Writes eval metrics as scalars at `global_step`."""
  with summary_writer.as_default():
    for name, value in eval_metrics.items():
      tf.summary.scalar(name, float(orbit.utils.get_value(value)), step=global_step)
    summary_writer.flush()


def remove_ckpts(model_dir: str) -> None:
  """Deletes model_dir's checkpoints, so a run can start over."""
  for path in tf.io.gfile.glob(os.path.join(model_dir, 'ckpt-*')):
    tf.io.gfile.rmtree(path)
  index = os.path.join(model_dir, 'checkpoint')
  if tf.io.gfile.exists(index):
    tf.io.gfile.remove(index)


def remove_partial_checkpoints(model_dir: str, checkpoint_name: str = 'ckpt') -> None:
  """Deletes what checkpoint writes that never finished left: `ckpt-N_temp/`.

  A write killed half way leaves its temporary directory behind. Nothing
  reads it (the `checkpoint` file only names a checkpoint once it is
  complete), but it would stay forever. Call only while holding the
  model_dir's lock, when no other process can be writing one.
  """
  for path in tf.io.gfile.glob(os.path.join(model_dir, f'{checkpoint_name}-*_temp')):
    tf.io.gfile.rmtree(path)


def write_model_params(model, output_path: str) -> None:
  """One line per variable (`name [shape]`), then the total parameter count."""
  total = 0
  with tf.io.gfile.GFile(output_path, 'w') as f:
    for var in model.variables:
      total += var.shape.num_elements()
      f.write(f'{var.name} {var.shape.as_list()}\n')
    f.write(f'\nTotal params: {total}\n')


def try_count_params(model, trainable_only: bool = False) -> Optional[int]:
  """The number of parameters, or None for a Keras model that is not built yet.

  Unlike TFM, `trainable_only` is honoured for Keras models too (TFM's
  `count_params()` path counts frozen weights as well).
  """
  if hasattr(model, 'count_params') and not model.built:
    return None
  variables = model.trainable_variables if trainable_only else model.variables
  return sum(v.shape.num_elements() for v in variables)
