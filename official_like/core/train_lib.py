"""`run_experiment`: build the trainer under a strategy and let Orbit run the mode.

The Controller, CheckpointManager and actions come from the experiment
config here; everything about the loops themselves belongs to Orbit.
"""
import os
import time
from typing import Any, List, Mapping, Optional, Tuple

from absl import logging
import gin
import orbit
import tensorflow as tf
import tf_keras

from official_like.common import distribute_utils
from official_like.core import actions
from official_like.core import base_task
from official_like.core import base_trainer
from official_like.core import config_definitions as cfg
from official_like.core.summaries import IntervalSummaryManager
from official_like.modeling.hyperparams import ConfigError

MODES = ('train', 'eval', 'train_and_eval', 'continuous_eval')


def check_mode(mode: str) -> None:
  if mode not in MODES:
    raise ConfigError(('mode',), f"unknown mode {mode!r}; valid modes: {', '.join(MODES)}")


def save_params(params: cfg.ExperimentConfig, model_dir: str) -> str:
  """Writes the resolved config to model_dir/params.yaml.

  A different params.yaml already there (from an earlier run) is kept as
  params.yaml.<unix time>[.n] rather than overwritten; `.n` keeps two
  restarts within one second from replacing each other's backup.
  """
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


def check_batch_sizes(params: cfg.ExperimentConfig, replicas: int,
                      is_training: bool, is_evaluating: bool) -> None:
  """Global batches must split evenly over the replicas of the strategy."""
  used = [('train_data', is_training), ('validation_data', is_evaluating)]
  for key, in_use in used:
    size = getattr(params.task, key).global_batch_size
    if in_use and size % replicas:
      raise ConfigError(('task', key, 'global_batch_size'), f'{size} does not '
                        f'split evenly over the {replicas} replicas in sync; use '
                        f'a multiple of {replicas}')


def set_mixed_precision_policy(runtime: cfg.RuntimeConfig) -> None:
  dtype = runtime.mixed_precision_dtype
  policy = f'mixed_{dtype}' if dtype in ('float16', 'bfloat16') else 'float32'
  tf_keras.mixed_precision.set_global_policy(policy)


def create_trainer(params: cfg.ExperimentConfig, task: base_task.Task,
                   train: bool, evaluate: bool) -> base_trainer.Trainer:
  """Model and optimizer from the task; call under the strategy's scope."""
  model = task.build_model()
  optimizer = task.create_optimizer(params.trainer.optimizer_config, params.runtime)
  return base_trainer.Trainer(params, task, model=model, optimizer=optimizer,
                              train=train, evaluate=evaluate)


def _train_actions(params, trainer, checkpoint_manager) -> List[Any]:
  out: List[Any] = [actions.ProgressLogger(trainer.global_step,
                                           params.trainer.train_steps)]
  t = params.trainer
  if t.recovery_max_trials >= 0:
    out.append(actions.RecoveryAction(
        checkpoint_manager, trainer.global_step, t.loss_upper_bound,
        t.recovery_begin_steps, t.recovery_max_trials))
  return out


def _eval_actions(params, trainer, model_dir) -> List[Any]:
  t = params.trainer
  if not t.best_checkpoint_export_subdir:
    return []
  return [actions.BestCheckpointExporter(
      trainer.checkpoint, trainer.global_step,
      os.path.join(model_dir, t.best_checkpoint_export_subdir),
      t.best_checkpoint_eval_metric, t.best_checkpoint_metric_comp == 'higher')]


@gin.configurable(module='official_like',
                  denylist=['distribution_strategy', 'task', 'mode', 'params',
                            'model_dir', 'trainer'])
def run_experiment(
    distribution_strategy: tf.distribute.Strategy,
    task: base_task.Task,
    mode: str,
    params: cfg.ExperimentConfig,
    model_dir: str,
    run_post_eval: bool = False,
    save_summary: bool = True,
    trainer: Optional[base_trainer.Trainer] = None,
) -> Tuple[tf_keras.Model, Mapping[str, Any]]:
  """Runs `mode` of the experiment; returns the model and the last eval logs.

  Restarting the same command in the same model_dir resumes from the latest
  checkpoint: global step, weights, optimizer slots and the schedule's
  position all continue. Gin can bind `run_post_eval` (evaluate after a
  `train` run) and `save_summary`.

  A train loop ends at the next multiple of `steps_per_loop`, so an
  evaluation or restart at another step does not shift later loops off the
  multiples of `summary_interval` (whose summaries would then be skipped).
  """
  check_mode(mode)
  params.validate()
  is_training = 'train' in mode
  is_evaluating = 'eval' in mode or run_post_eval
  check_batch_sizes(params, distribution_strategy.num_replicas_in_sync,
                    is_training, is_evaluating)
  chief = distribute_utils.is_chief(distribution_strategy)
  write_dir = distribute_utils.write_dir(model_dir, distribution_strategy)
  if chief:
    save_params(params, model_dir)
  set_mixed_precision_policy(params.runtime)
  with distribution_strategy.scope():
    trainer = trainer or create_trainer(params, task, is_training, is_evaluating)

  t = params.trainer
  init_fn, last_step = trainer.initialize, None
  if not chief:
    # Restoring is a collective: a non-chief resumes from the chief's latest
    # checkpoint, so every worker starts at the same step with the same state.
    distribute_utils.remove_worker_dir(model_dir, distribution_strategy)
    latest = tf.train.latest_checkpoint(model_dir)
    if latest:
      init_fn = lambda: trainer.checkpoint.restore(latest)
      last_step = int(tf.train.load_checkpoint(latest).get_tensor(
          'global_step/.ATTRIBUTES/VARIABLE_VALUE'))
  checkpoint_manager = tf.train.CheckpointManager(
      trainer.checkpoint, directory=write_dir, max_to_keep=t.max_to_keep,
      step_counter=trainer.global_step, checkpoint_interval=t.checkpoint_interval,
      init_fn=init_fn, last_checkpoint_step=last_step)
  summary_dir = os.path.join(write_dir, 'train') if save_summary else None
  eval_dir = (os.path.join(write_dir, t.validation_summary_subdir)
              if save_summary else None)
  controller = orbit.Controller(
      strategy=distribution_strategy,
      trainer=trainer if is_training else None,
      evaluator=trainer if is_evaluating else None,
      global_step=trainer.global_step,
      steps_per_loop=lambda step: t.steps_per_loop - step % t.steps_per_loop,
      checkpoint_manager=checkpoint_manager,
      summary_interval=t.summary_interval if is_training else None,
      summary_dir=summary_dir,
      eval_summary_dir=eval_dir,
      summary_manager=IntervalSummaryManager(
          summary_dir, trainer.global_step, t.summary_interval),
      train_actions=_train_actions(params, trainer, checkpoint_manager)
      if is_training else None,
      eval_actions=_eval_actions(params, trainer, model_dir)
      if chief and is_evaluating else None)

  logging.info('Starting %s in %s', mode, model_dir)
  eval_logs = {}
  if mode == 'train':
    controller.train(steps=t.train_steps)
  elif mode == 'train_and_eval':
    # A finished run (restarted in the same model_dir) is evaluated again.
    eval_logs = controller.train_and_evaluate(
        train_steps=t.train_steps, eval_steps=t.validation_steps,
        eval_interval=t.validation_interval) or controller.evaluate(
            steps=t.validation_steps)
  elif mode == 'eval':
    eval_logs = controller.evaluate(steps=t.validation_steps)
  else:
    def finished():
      return int(trainer.global_step.numpy()) >= t.train_steps
    eval_logs = controller.evaluate_continuously(
        steps=t.validation_steps, timeout=t.continuous_eval_timeout,
        timeout_fn=finished)
  if run_post_eval and mode == 'train':
    eval_logs = controller.evaluate(steps=t.validation_steps)
  if not chief:
    distribute_utils.remove_worker_dir(model_dir, distribution_strategy)
  return trainer.model, tf.nest.map_structure(orbit.utils.get_value, eval_logs or {})
