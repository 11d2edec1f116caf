"""The experiment runner: trainer, checkpoints and an Orbit Controller for one mode.

`OrbitExperimentRunner.__init__` is a list of build steps, TFM's
(`_build_trainer`, `_maybe_build_checkpoint_manager`, `_build_controller`, ...)
and ours, so a subclass replaces one piece as in TFM. Building reads model_dir
but writes nothing: `run` takes the lock, then writes and runs, so a runner
built but never run blocks no one. `run_experiment` is a thin wrapper over it.
Everything about the loops belongs to Orbit.
"""
import contextlib
import os
from typing import Any, List, Mapping, Optional, Tuple

from absl import logging
import gin
import orbit
import tensorflow as tf
import tf_keras

from official_like.common import distribute_utils
from official_like.common.flags import check_mode
from official_like.common.flags import evaluates
from official_like.common.flags import trains
from official_like.core import actions
from official_like.core import base_task
from official_like.core import base_trainer
from official_like.core import config_definitions as cfg
from official_like.core import experiment_parser
from official_like.core import train_utils
from official_like.core.train_utils import maybe_create_best_ckpt_exporter
from official_like.modeling.optimization import lr_lint
from official_like.run import finished_run
from official_like.run import frozen_heap
from official_like.run import hparams_summary
from official_like.run import lr_plan
from official_like.run import model_dir_lock
from official_like.run import preemption
from official_like.run import seeding
from official_like.run.errors import RunError
from official_like.run.summaries import IntervalSummaryManager


class OrbitExperimentRunner:
  """Runs one mode of an experiment with Orbit's Controller.

  Restarting the same run in the same model_dir resumes from the latest
  checkpoint: global step, weights, optimizer slots and the schedule's
  position all continue, and so do the input's position (on every worker,
  see `resumable_input`) and the random layers' state
  (`Trainer.resume_checkpoint`): with `runtime.seed` set, a killed and rerun
  run ends with the uninterrupted run's weights, bit for bit. Training holds
  `model_dir/.lock` (`model_dir_lock`) while it runs, so a second training
  process on the same model_dir is refused; SIGTERM and Ctrl-C save the
  current step and stop (`preemption`). Train loops end at multiples of
  `steps_per_loop`, so an evaluation or restart at another step does not
  shift later loops off the multiples of `summary_interval`. On a
  multi-worker run every worker resumes from the chief's checkpoint and
  writes its own copies to a scratch directory that is removed at the end.
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
    """Checks the config and builds every piece; nothing is written before `run`.

    As TFM's: `distribution_strategy` None is the current one; `mode` is one
    of `common.flags.MODES`; `params` is validated here; `run_post_eval`
    evaluates once after training (`run` returns its logs); `train_actions`
    and `eval_actions` run before the config's; a given `trainer` was built
    under the strategy's scope; `controller_cls` is an `orbit.Controller`
    subclass; `summary_manager`/`eval_summary_manager` replace the defaults.
    """
    self.strategy = distribution_strategy or tf.distribute.get_strategy()
    self._params, self._model_dir, self._mode = params, model_dir, mode
    self._run_post_eval, self._save_summary = run_post_eval, save_summary
    self._check_config()
    self._training, self._evaluating = trains(mode), evaluates(mode, run_post_eval)
    self._chief = self.strategy.extended.should_checkpoint
    self._write_dir = distribute_utils.write_dir(model_dir, self.strategy)
    self._set_precision_policy()
    self._trainer = trainer or self._build_trainer(task, train=self._training,
                                                   evaluate=self._evaluating)
    more_train, more_eval = self._build_learning_rate_plan()
    self._checkpoint_manager = self._maybe_build_checkpoint_manager()
    self._summary_manager = summary_manager
    self._eval_summary_manager = eval_summary_manager
    self._stop_on_signal = None  # `_build_controller` builds it for a training run.
    self._controller = self._build_controller(
        trainer=self._trainer if self._training else None,
        evaluator=self._trainer if self._evaluating else None,
        save_summary=save_summary,
        train_actions=list(train_actions or []) + more_train,
        eval_actions=list(eval_actions or []) + more_eval,
        controller_cls=controller_cls,
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

  def _check_config(self) -> None:
    """Refuses a bad mode or config before TensorFlow builds anything."""
    check_mode(self._mode)
    self._params.validate()
    experiment_parser.resolve_learning_rate(self._params)  # A no-op once parsed.
    train_utils.check_mode_batch_sizes(self._params, self._mode,
                                       self.strategy.num_replicas_in_sync,
                                       self._run_post_eval)
    if trains(self._mode):
      experiment_parser.check_trainable(self._params)
      seeding.check_seed_for_determinism(self._params.runtime)

  def _set_precision_policy(self) -> None:
    """The process-wide Keras policy, set before the model is built."""
    train_utils.set_mixed_precision_policy(self._params.runtime)

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

  def _build_learning_rate_plan(self) -> Tuple[List[orbit.Action], List[orbit.Action]]:
    """Warns when the rate plan does not fit train_steps (`lr_lint`): chief training only.

    Keeps the curve for `_write_learning_rate_plan`; with summaries, returns
    the (train, eval) actions that record the HParams session's final metrics.
    """
    self._lr_curve = None
    if not (self._chief and self._training):
      return [], []
    self._lr_curve = lr_plan.run_curve(self._params, self._trainer.optimizer)
    lr_lint.warn(self._params, self._lr_curve)
    if not self._save_summary:
      return [], []
    final = hparams_summary.FinalMetrics(self._model_dir, self._trainer.global_step,
                                         self._params.trainer.train_steps)
    return [final.train], [final.evaluate]

  def _maybe_build_checkpoint_manager(self) -> Optional[tf.train.CheckpointManager]:
    """The manager of `trainer.resume_checkpoint`, restoring the chief's latest checkpoint.

    Trainers without a `resume_checkpoint` (TFM-style ones) save `checkpoint`.
    """
    if not self._trainer.checkpoint:
      return None
    checkpoint = getattr(self._trainer, 'resume_checkpoint', self._trainer.checkpoint)
    if self._model_dir is None:
      raise ValueError('model_dir must be specified, but got None')
    init_fn, last_step = self._trainer.initialize, None
    if not self._chief:
      distribute_utils.remove_worker_dir(self._model_dir, self.strategy)
      latest = tf.train.latest_checkpoint(self._model_dir)
      if latest:
        # Restoring is a collective: every worker must start from the same state.
        init_fn = lambda: checkpoint.restore(latest)
        last_step = train_utils.read_global_step_from_checkpoint(latest)
    t = self._params.trainer
    manager_cls = (finished_run.FinishedRunCheckpointManager if self._chief and self._finished()
                   else tf.train.CheckpointManager)
    return manager_cls(
        checkpoint, directory=self._write_dir,
        max_to_keep=t.max_to_keep if self._chief else 1,
        step_counter=self._trainer.global_step,
        checkpoint_interval=t.checkpoint_interval, init_fn=init_fn,
        last_checkpoint_step=last_step)

  def _finished(self) -> bool:
    """Whether model_dir's latest checkpoint is at train_steps or past it."""
    latest = tf.train.latest_checkpoint(self._model_dir)
    try:
      return bool(latest) and (train_utils.read_global_step_from_checkpoint(latest)
                               >= self._params.trainer.train_steps)
    except ValueError:  # A checkpoint without a global step (not a run's).
      return False

  def _build_controller(self, trainer, evaluator, save_summary: bool = True,
                        train_actions=None, eval_actions=None,
                        controller_cls=orbit.Controller,
                        enable_async_checkpointing: bool = False) -> orbit.Controller:
    """Orbit's Controller; restoring the latest checkpoint (or the warm start) happens here.

    A warm start that does not fit the model thus fails before `run` writes anything.
    """
    t = self._params.trainer
    self._stop_on_signal = self._build_stop_on_signal(trainer)
    summary_dir = os.path.join(self._write_dir, 'train') if save_summary else None
    eval_dir = (os.path.join(self._write_dir, t.validation_summary_subdir)
                if save_summary else None)
    return controller_cls(
        strategy=self.strategy, trainer=trainer, evaluator=evaluator,
        global_step=self._trainer.global_step,
        steps_per_loop=lambda step: t.steps_per_loop - step % t.steps_per_loop,
        checkpoint_manager=self._checkpoint_manager,
        enable_async_checkpointing=enable_async_checkpointing,
        summary_dir=summary_dir, eval_summary_dir=eval_dir,
        summary_interval=t.summary_interval if save_summary else None,
        train_actions=self._build_train_actions(trainer, train_actions),
        eval_actions=self._build_eval_actions(evaluator, eval_actions),
        summary_manager=self._build_summary_manager(trainer, summary_dir),
        eval_summary_manager=self._eval_summary_manager)

  def _build_stop_on_signal(self, trainer) -> Optional[preemption.SaveAndStopOnSignal]:
    """The action that saves and stops a single-process training on SIGTERM/SIGINT.

    `run` catches those signals exactly when this was built, so a controller
    built another way keeps the process's handlers. Multi-worker runs get
    Orbit's `SaveCheckpointIfPreempted` from `actions.get_train_actions`.
    """
    if (not trainer or not self._params.trainer.preemption_on_demand_checkpoint
        or not self._checkpoint_manager or trainer.strategy.cluster_resolver):
      return None
    return preemption.SaveAndStopOnSignal(self._checkpoint_manager, trainer.global_step)

  def _build_train_actions(self, trainer, extra) -> List[orbit.Action]:
    """`extra`, then the config's (`actions.get_train_actions`), then the stop on signals."""
    train_actions = list(extra or [])
    if trainer:
      train_actions += actions.get_train_actions(
          self._params, trainer, self._write_dir,
          checkpoint_manager=self._checkpoint_manager)
    if self._stop_on_signal:
      train_actions.append(self._stop_on_signal)
    return train_actions

  def _build_eval_actions(self, evaluator, extra) -> List[orbit.Action]:
    eval_actions = list(extra or [])
    if evaluator and self._chief:
      eval_actions += actions.get_eval_actions(self._params, evaluator, self._model_dir)
    return eval_actions

  def _build_summary_manager(self, trainer, summary_dir):
    if self._summary_manager is not None or not trainer:
      return self._summary_manager
    return IntervalSummaryManager(summary_dir, self._trainer.global_step,
                                  self._params.trainer.summary_interval)

  def run(self) -> Tuple[tf_keras.Model, Mapping[str, Any]]:
    """Runs the mode; returns the model and, with `run_post_eval`, the eval logs.

    Other modes return {} as in TFM (an eval action such as
    `eval_actions=[logs.update]` sees every evaluation's results). A chief's
    training holds the model_dir's lock from before its first write until it
    returns, and stops on SIGTERM/SIGINT after saving the current step
    (`preemption.Preempted`). `continuous_eval` stops once no new checkpoint
    appeared for `continuous_eval_timeout` seconds; RunError if none ever did.
    """
    with self._model_dir_held() as lock:
      self._write_model_dir(lock)
      with self._signals_caught(), frozen_heap.frozen():
        return self._run()

  def _model_dir_held(self):
    """`model_dir_lock.ModelDirLock` for a chief's training; evaluations only read."""
    if self._training and self._chief and self._model_dir:
      return model_dir_lock.ModelDirLock(self._model_dir)
    return contextlib.nullcontext()

  def _write_model_dir(self, lock: Optional[model_dir_lock.ModelDirLock]) -> None:
    """What a run records before it starts; only once no other process can be writing."""
    if lock is not None and lock.held:
      train_utils.remove_partial_checkpoints(self._model_dir)
    if self._chief:
      self._write_params()
      self._write_learning_rate_plan()

  def _write_params(self) -> None:
    """params.yaml (training only, as TFM's train.py) and the optimizer config used."""
    if self._training:
      train_utils.serialize_config(self._params, self._model_dir)
    train_utils.record_effective_optimizer_config(self._params, self._trainer.optimizer,
                                                  self._model_dir)

  def _write_learning_rate_plan(self) -> None:
    """The planned curve (`lr_plan`) and the HParams session, once per model_dir."""
    if not (self._chief and self._training and self._save_summary):
      return
    if self._lr_curve is not None:
      lr_plan.write_curve(self._lr_curve, self._model_dir)
    hparams_summary.write_hparams(self._params, self._model_dir, self._lr_curve)

  def _signals_caught(self):
    """SIGTERM/SIGINT are recorded only when a `SaveAndStopOnSignal` will act on them."""
    if self._stop_on_signal is None:
      return contextlib.nullcontext()
    return preemption.stop_signals_caught()

  def _run(self) -> Tuple[tf_keras.Model, Mapping[str, Any]]:
    t, mode = self._params.trainer, self._mode
    post_eval = self._run_post_eval or mode == 'train_and_post_eval'
    logs = {}
    latest = self._checkpoint_manager and self._checkpoint_manager.latest_checkpoint
    logging.info('Starting %s in %s%s', mode, self._model_dir,
                 f' from {os.path.basename(latest)}' if latest else '')
    step = int(self._trainer.global_step.numpy())
    with self.strategy.scope():
      if 'train' in mode and step >= t.train_steps:
        logging.info('Already at step %d of %d: nothing to train', step, t.train_steps)
        if mode == 'train_and_eval':
          self._controller.evaluate(steps=t.validation_steps)
      elif mode in ('train', 'train_and_post_eval'):
        self._controller.train(steps=t.train_steps)
      elif mode == 'train_and_eval':
        self._controller.train_and_evaluate(
            train_steps=t.train_steps, eval_steps=t.validation_steps,
            eval_interval=t.validation_interval)
      elif mode == 'eval':
        self._controller.evaluate(steps=t.validation_steps)
      else:
        self._evaluate_continuously()
      if post_eval:
        logs = self._controller.evaluate(steps=t.validation_steps)
    if not self._chief:
      distribute_utils.remove_worker_dir(self._model_dir, self.strategy)
    return self._trainer.model, tf.nest.map_structure(orbit.utils.get_value, logs)

  def _evaluate_continuously(self) -> None:
    """Orbit's loop, ended by the first wait longer than the timeout.

    TFM keeps waiting after a timeout until training is finished, so a
    trainer that died, or never started, kept it waiting forever.
    """
    t = self._params.trainer
    output = self._controller.evaluate_continuously(
        steps=t.validation_steps, timeout=t.continuous_eval_timeout,
        timeout_fn=lambda: True)
    step = int(self._trainer.global_step.numpy())
    if output is None:
      raise RunError(f'continuous_eval: no checkpoint appeared in {self._model_dir} '
                     f'within trainer.continuous_eval_timeout='
                     f'{t.continuous_eval_timeout} s')
    if step < t.train_steps:
      logging.warning('continuous_eval: no new checkpoint for %s s '
                      '(trainer.continuous_eval_timeout); stopping after step %d of %d',
                      t.continuous_eval_timeout, step, t.train_steps)


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
