"""The experiment runner: trainer, checkpoints and an Orbit Controller for one mode.

`OrbitExperimentRunner` has TFM's seams (`_build_trainer`,
`_build_best_checkpoint_exporter`, `_maybe_build_checkpoint_manager`,
`_build_controller`, `run`), so a subclass replaces one piece; `run_experiment`
is a thin wrapper over it. Everything about the loops belongs to Orbit.
"""
import os
from typing import Any, List, Mapping, Optional, Tuple

from absl import logging
import gin
import orbit
import tensorflow as tf
import tf_keras

from official_like.common import distribute_utils
from official_like.common.flags import MODES
from official_like.core import actions
from official_like.core import base_task
from official_like.core import base_trainer
from official_like.core import config_definitions as cfg
from official_like.core import train_utils
from official_like.core.summaries import IntervalSummaryManager
from official_like.core.train_utils import maybe_create_best_ckpt_exporter
from official_like.modeling.hyperparams import ConfigError


def check_mode(mode: str) -> None:
  if mode not in MODES:
    raise ConfigError(('mode',), f"unknown mode {mode!r}; valid modes: {', '.join(MODES)}")


class OrbitExperimentRunner:
  """Runs one mode of an experiment with Orbit's Controller.

  Restarting the same run in the same model_dir resumes from the latest
  checkpoint: global step, weights, optimizer slots and the schedule's
  position all continue. Train loops end at multiples of `steps_per_loop`,
  so an evaluation or restart at another step does not shift later loops
  off the multiples of `summary_interval`. On a multi-worker run every
  worker resumes from the chief's checkpoint and writes its own copies to a
  scratch directory that is removed at the end.
  """

  def __init__(self, distribution_strategy: tf.distribute.Strategy,
               task: base_task.Task, mode: str, params: cfg.ExperimentConfig,
               model_dir: str, run_post_eval: bool = False, save_summary: bool = True,
               train_actions: Optional[List[orbit.Action]] = None,
               eval_actions: Optional[List[orbit.Action]] = None,
               trainer: Optional[base_trainer.Trainer] = None,
               controller_cls=orbit.Controller,
               summary_manager: Optional[orbit.utils.SummaryManager] = None,
               eval_summary_manager: Optional[orbit.utils.SummaryManager] = None,
               enable_async_checkpointing: bool = False):
    """Checks the config, writes params.yaml (chief) and builds every piece.

    Args:
      distribution_strategy: the strategy to run under (None: the current one).
      task: the Task to train or evaluate.
      mode: one of `official_like.common.flags.MODES`.
      params: the experiment config; validated here.
      model_dir: where checkpoints, summaries and params.yaml go.
      run_post_eval: evaluate once after training; `run` then returns the logs.
      save_summary: write TensorBoard summaries.
      train_actions, eval_actions: extra Orbit actions, run before the config's.
      trainer: a Trainer built under the strategy's scope (else one is built).
      controller_cls: an `orbit.Controller` subclass.
      summary_manager, eval_summary_manager: replace the default writers.
      enable_async_checkpointing: save checkpoints in the background.
    """
    check_mode(mode)
    params.validate()
    self.strategy = distribution_strategy or tf.distribute.get_strategy()
    self._params = params
    self._model_dir = model_dir
    self._mode = mode
    self._run_post_eval = run_post_eval
    training = 'train' in mode
    evaluating = 'eval' in mode or run_post_eval
    train_utils.check_batch_sizes(params, self.strategy.num_replicas_in_sync,
                                  training, evaluating)
    self._chief = self.strategy.extended.should_checkpoint
    self._write_dir = distribute_utils.write_dir(model_dir, self.strategy)
    if self._chief:
      train_utils.serialize_config(params, model_dir)
    train_utils.set_mixed_precision_policy(params.runtime)
    self._trainer = trainer or self._build_trainer(task, train=training,
                                                   evaluate=evaluating)
    self._checkpoint_manager = self._maybe_build_checkpoint_manager()
    self._summary_manager = summary_manager
    self._eval_summary_manager = eval_summary_manager
    self._controller = self._build_controller(
        trainer=self._trainer if training else None,
        evaluator=self._trainer if evaluating else None,
        save_summary=save_summary, train_actions=train_actions,
        eval_actions=eval_actions, controller_cls=controller_cls,
        enable_async_checkpointing=enable_async_checkpointing)

  @property
  def params(self) -> cfg.ExperimentConfig:
    return self._params

  @property
  def model_dir(self) -> str:
    return self._model_dir

  @property
  def trainer(self) -> base_trainer.Trainer:
    return self._trainer

  @property
  def checkpoint_manager(self) -> Optional[tf.train.CheckpointManager]:
    return self._checkpoint_manager

  @property
  def controller(self) -> orbit.Controller:
    return self._controller

  def _build_trainer(self, task: base_task.Task, train: bool,
                     evaluate: bool) -> base_trainer.Trainer:
    with self.strategy.scope():
      return train_utils.create_trainer(
          self._params, task, train=train, evaluate=evaluate,
          checkpoint_exporter=self._build_best_checkpoint_exporter())

  def _build_best_checkpoint_exporter(self):
    if not self._chief:
      return None
    return maybe_create_best_ckpt_exporter(self._params, self._model_dir)

  def _maybe_build_checkpoint_manager(self) -> Optional[tf.train.CheckpointManager]:
    """The manager of `trainer.checkpoint`, restoring the chief's latest checkpoint."""
    if not self._trainer.checkpoint:
      return None
    if self._model_dir is None:
      raise ValueError('model_dir must be specified, but got None')
    init_fn, last_step = self._trainer.initialize, None
    if not self._chief:
      distribute_utils.remove_worker_dir(self._model_dir, self.strategy)
      latest = tf.train.latest_checkpoint(self._model_dir)
      if latest:
        # Restoring is a collective: every worker must start from the same state.
        init_fn = lambda: self._trainer.checkpoint.restore(latest)
        last_step = train_utils.read_global_step_from_checkpoint(latest)
    t = self._params.trainer
    return tf.train.CheckpointManager(
        self._trainer.checkpoint, directory=self._write_dir,
        max_to_keep=t.max_to_keep if self._chief else 1,
        step_counter=self._trainer.global_step,
        checkpoint_interval=t.checkpoint_interval, init_fn=init_fn,
        last_checkpoint_step=last_step)

  def _build_controller(self, trainer, evaluator, save_summary: bool = True,
                        train_actions=None, eval_actions=None,
                        controller_cls=orbit.Controller,
                        enable_async_checkpointing: bool = False) -> orbit.Controller:
    t = self._params.trainer
    train_actions = list(train_actions or [])
    if trainer:
      train_actions += actions.get_train_actions(
          self._params, trainer, self._model_dir,
          checkpoint_manager=self._checkpoint_manager)
    eval_actions = list(eval_actions or [])
    if evaluator and self._chief:
      eval_actions += actions.get_eval_actions(self._params, evaluator, self._model_dir)
    summary_dir = os.path.join(self._write_dir, 'train') if save_summary else None
    eval_dir = (os.path.join(self._write_dir, t.validation_summary_subdir)
                if save_summary else None)
    summary_manager = self._summary_manager
    if summary_manager is None and trainer:
      summary_manager = IntervalSummaryManager(
          summary_dir, self._trainer.global_step, t.summary_interval)
    return controller_cls(
        strategy=self.strategy, trainer=trainer, evaluator=evaluator,
        global_step=self._trainer.global_step,
        steps_per_loop=lambda step: t.steps_per_loop - step % t.steps_per_loop,
        checkpoint_manager=self._checkpoint_manager,
        enable_async_checkpointing=enable_async_checkpointing,
        summary_dir=summary_dir, eval_summary_dir=eval_dir,
        summary_interval=t.summary_interval if save_summary else None,
        train_actions=train_actions, eval_actions=eval_actions,
        summary_manager=summary_manager,
        eval_summary_manager=self._eval_summary_manager)

  def run(self) -> Tuple[tf_keras.Model, Mapping[str, Any]]:
    """Runs the mode; returns the model and, with `run_post_eval`, the eval logs.

    Other modes return {} as in TFM; pass an eval action (e.g.
    `eval_actions=[logs.update]`) to see every evaluation's results.
    """
    t, mode = self._params.trainer, self._mode
    post_eval = self._run_post_eval or mode == 'train_and_post_eval'
    logs = {}
    logging.info('Starting %s in %s', mode, self._model_dir)
    with self.strategy.scope():
      if mode in ('train', 'train_and_post_eval'):
        self._controller.train(steps=t.train_steps)
      elif mode == 'train_and_eval':
        if self._controller.train_and_evaluate(
            train_steps=t.train_steps, eval_steps=t.validation_steps,
            eval_interval=t.validation_interval) is None:
          # A finished run (restarted in the same model_dir) is evaluated again.
          self._controller.evaluate(steps=t.validation_steps)
      elif mode == 'eval':
        self._controller.evaluate(steps=t.validation_steps)
      else:
        finished = lambda: int(self._trainer.global_step.numpy()) >= t.train_steps
        self._controller.evaluate_continuously(
            steps=t.validation_steps, timeout=t.continuous_eval_timeout,
            timeout_fn=finished)
      if post_eval:
        logs = self._controller.evaluate(steps=t.validation_steps)
    if not self._chief:
      distribute_utils.remove_worker_dir(self._model_dir, self.strategy)
    return self._trainer.model, tf.nest.map_structure(orbit.utils.get_value, logs)


@gin.configurable(module='official_like',
                  denylist=['distribution_strategy', 'task', 'mode', 'params',
                            'model_dir', 'trainer'])
def run_experiment(distribution_strategy: tf.distribute.Strategy,
                   task: base_task.Task, mode: str, params: cfg.ExperimentConfig,
                   model_dir: str, run_post_eval: bool = False,
                   save_summary: bool = True,
                   train_actions: Optional[List[orbit.Action]] = None,
                   eval_actions: Optional[List[orbit.Action]] = None,
                   trainer: Optional[base_trainer.Trainer] = None,
                   controller_cls=orbit.Controller,
                   summary_manager: Optional[orbit.utils.SummaryManager] = None,
                   eval_summary_manager: Optional[orbit.utils.SummaryManager] = None,
                   enable_async_checkpointing: bool = False
                   ) -> Tuple[tf_keras.Model, Mapping[str, Any]]:
  """Runs `mode` of the experiment: `OrbitExperimentRunner(...).run()`.

  Returns the model and, when `run_post_eval` (or mode
  'train_and_post_eval'), the final evaluation's logs; otherwise {} (as TFM).
  Gin can bind `run_post_eval` and `save_summary`.
  """
  return OrbitExperimentRunner(
      distribution_strategy=distribution_strategy, task=task, mode=mode,
      params=params, model_dir=model_dir, run_post_eval=run_post_eval,
      save_summary=save_summary, train_actions=train_actions,
      eval_actions=eval_actions, trainer=trainer, controller_cls=controller_cls,
      summary_manager=summary_manager, eval_summary_manager=eval_summary_manager,
      enable_async_checkpointing=enable_async_checkpointing).run()
