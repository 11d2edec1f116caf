"""Orbit actions run after each train loop or evaluation, and the config that picks them.

Each action is a callable taking the loop's output dict, as Orbit expects.
Conditions and actions are kept apart and composed with Orbit's
`ConditionalAction` (TFM's `RecoveryCondition` + `RecoveryAction`).
`get_train_actions`/`get_eval_actions` are the one place where the config
decides which actions a run gets.
"""
import datetime
import os
import time
import weakref
from typing import List, Optional

from absl import logging
import gin
import numpy as np
import orbit
import tensorflow as tf

from official_like.core import base_trainer
from official_like.core import config_definitions as cfg
from official_like.modeling.optimization.ema_optimizer import ExponentialMovingAverage
from official_like.run.errors import RunError


class TrainClock:
  """Seconds of training: wall time less the evaluations between train loops.

  A train loop's progress line `mark`s its end; an evaluation that ends
  later says so (`evaluated`), and the time since the mark is left out. So a
  loop right after an evaluation reports its own speed, not one diluted by
  the evaluation (which read as 155 steps/s against 1,000 around it).
  """

  def __init__(self):
    self._excluded = 0.0
    self._mark = None

  def now(self) -> float:
    return time.monotonic() - self._excluded

  def mark(self) -> None:
    self._mark = time.monotonic()

  def evaluated(self) -> None:
    if self._mark is not None:
      now = time.monotonic()
      self._excluded += now - self._mark
      self._mark = now


# One clock per Trainer: its train and eval actions are built apart (TFM's seams).
_CLOCKS = weakref.WeakKeyDictionary()


def _clock_of(trainer) -> TrainClock:
  return _CLOCKS.setdefault(trainer, TrainClock())


class ProgressLogger:
  """Logs `step i/N | steps/s | loss | lr | ETA` after every train loop, in aligned columns.

  The rate is measured from the end of one loop to the end of the next,
  evaluations left out (`TrainClock`), so the first loop (which includes
  tracing) reports no rate (`-`) rather than a misleading one; the ETA uses the
  rate averaged since that first loop.
  """

  def __init__(self, global_step: tf.Variable, total_steps: int,
               loss_key: str = 'training_loss', clock: Optional[TrainClock] = None):
    self._global_step = global_step
    self._total = total_steps
    self._loss_key = loss_key
    self._clock = clock or TrainClock()
    self._first = self._last = None

  def __call__(self, output) -> None:
    step, now = int(self._global_step.numpy()), self._clock.now()
    parts = [f'step {step:>{len(str(self._total))}}/{self._total}']
    if self._last and step > self._last[0]:
      parts.append(f'{(step - self._last[0]) / (now - self._last[1]):7.1f} steps/s')
      average = (step - self._first[0]) / (now - self._first[1])
      eta = datetime.timedelta(seconds=round(max(self._total - step, 0) / average))
    else:
      self._first, eta = (step, now), None
      parts.append(f'{"-":>7} steps/s')  # Aligned, and no rate yet.
    self._last = (step, now)
    for key, label in ((self._loss_key, 'loss'), ('learning_rate', 'lr')):
      if key in output:
        parts.append(f'{label} {float(orbit.utils.get_value(output[key])):<9.4g}')
    if eta is not None:
      parts.append(f'ETA {eta}')
    logging.info(' | '.join(parts).rstrip())
    self._clock.mark()


class EvalLogger:
  """Logs one line per evaluation: `eval | step N | metric value | ...`."""

  def __init__(self, global_step: tf.Variable, clock: Optional[TrainClock] = None):
    self._global_step = global_step
    self._clock = clock

  def __call__(self, output) -> None:
    parts = [f'eval | step {int(self._global_step.numpy())}']
    for key, value in sorted(output.items()):
      value = orbit.utils.get_value(value)
      if np.ndim(value) == 0:
        parts.append(f'{key} {float(value):.4g}')
    logging.info(' | '.join(parts))
    if self._clock is not None:
      self._clock.evaluated()


class EMACheckpointing:
  """Saves the averaged weights to `export_dir/ema_checkpoints` after an evaluation."""

  def __init__(self, export_dir: str, optimizer, checkpoint: tf.train.Checkpoint,
               max_to_keep: int = 1):
    if not isinstance(optimizer, ExponentialMovingAverage):
      raise ValueError('Optimizer has to be instance of ExponentialMovingAverage '
                       f'for EMACheckpointing, got {type(optimizer).__name__}')
    self._optimizer = optimizer
    self._manager = tf.train.CheckpointManager(
        checkpoint, os.path.join(export_dir, 'ema_checkpoints'),
        max_to_keep=max_to_keep, checkpoint_name='average_weights')

  def __call__(self, output) -> None:
    del output
    self._optimizer.swap_weights()
    try:
      self._manager.save(checkpoint_number=self._optimizer.iterations)
    finally:
      self._optimizer.swap_weights()


class RecoveryCondition:
  """True when the loss diverged: not finite (any step), or above the bound.

  The bound applies from `recovery_begin_steps` on. After more than
  `recovery_max_trials` such losses the run stops with one line naming the
  step and the value.
  """

  def __init__(self, global_step: tf.Variable, loss_upper_bound: float,
               recovery_begin_steps: int = 0, recovery_max_trials: int = 3,
               loss_key: str = 'training_loss'):
    self.global_step = global_step
    self.loss_upper_bound = loss_upper_bound
    self.recovery_begin_steps = recovery_begin_steps
    self.recovery_max_trials = recovery_max_trials
    self.recover_counter = 0
    self._loss_key = loss_key

  def __call__(self, outputs) -> bool:
    losses = np.asarray(orbit.utils.get_value(outputs[self._loss_key]), np.float64)
    loss = float(np.max(losses))
    step = int(orbit.utils.get_value(self.global_step))
    finite = bool(np.all(np.isfinite(losses)))
    if finite and (step < self.recovery_begin_steps or loss <= self.loss_upper_bound):
      return False
    self.recover_counter += 1
    if self.recover_counter > self.recovery_max_trials:
      what = 'is not finite' if not finite else (
          f'exceeds trainer.loss_upper_bound={self.loss_upper_bound}')
      raise RunError(
          f'training loss {loss} at step {step} {what}, and '
          f'trainer.recovery_max_trials={self.recovery_max_trials} recoveries are '
          'used up; lower the learning rate, add clipping '
          '(trainer.optimizer_config.optimizer.<type>.clipnorm) or raise '
          'trainer.recovery_max_trials')
    logging.warning('Training loss %s at step %d diverged (recovery %d/%d)', loss,
                    step, self.recover_counter, self.recovery_max_trials)
    return True


class RecoveryAction:
  """Restores the latest checkpoint after a diverged loss.

  `checkpoint` is what is restored (default: the manager's own). The runner
  passes the trainer's TFM checkpoint, without the input position: as in
  TFM, training goes on with the next batches instead of replaying the ones
  that diverged, which in a seeded run would diverge again the same way.

  With no checkpoint yet, TFM would re-run the warm start and go on with the
  diverged weights; here the run stops and says why instead.
  """

  def __init__(self, checkpoint_manager: tf.train.CheckpointManager,
               checkpoint: Optional[tf.train.Checkpoint] = None):
    self.checkpoint_manager = checkpoint_manager
    self.checkpoint = checkpoint or checkpoint_manager.checkpoint

  def __call__(self, output) -> None:
    del output
    path = self.checkpoint_manager.latest_checkpoint
    if path is None:
      raise RunError(
          'the training loss diverged and there is no checkpoint to recover from '
          'yet; lower trainer.checkpoint_interval or raise '
          'trainer.recovery_begin_steps')
    self.checkpoint.restore(path).expect_partial()
    logging.warning('Diverged; restoring %s', path)


class PruningAction:
  """Applies a pruned model's masks and logs its sparsity after every train loop.

  A model wrapped with `tfmot.sparsity.keras.prune_low_magnitude` updates
  its masks and pruning step inside training calls; applying the masks to
  the weights and writing the sparsity summaries are the work of tfmot's
  Keras callbacks (`UpdatePruningStep`, `PruningSummaries`), which only
  `fit()` would run. This action runs them at each loop's end, as TFM's
  does. `get_train_actions` adds it when `task.pruning` is set;
  tensorflow_model_optimization is imported only then.
  """

  def __init__(self, export_dir: str, model, optimizer):
    import tensorflow_model_optimization as tfmot  # pylint: disable=g-import-not-at-top
    self._masks = tfmot.sparsity.keras.UpdatePruningStep()
    self._masks.set_model(model)
    self._masks.on_train_begin()  # A fresh model's pruning step goes from -1 to 0.
    model.optimizer = optimizer  # Where PruningSummaries reads the step.
    self._summaries = tfmot.sparsity.keras.PruningSummaries(log_dir=export_dir)
    self._summaries.set_model(model)

  def __call__(self, output) -> None:
    del output
    self._masks.on_epoch_end(batch=None)
    self._summaries.on_epoch_begin(epoch=None)


@gin.configurable(module='official_like')
def get_train_actions(params: cfg.ExperimentConfig, trainer: base_trainer.Trainer,
                      model_dir: str,
                      checkpoint_manager: tf.train.CheckpointManager) -> List[orbit.Action]:
  """Progress logging, pruning, divergence recovery and multi-worker preemption checkpoints.

  Pruning (`PruningAction`) when the task config has a true `pruning`;
  its summaries go to `model_dir/metrics`. Preemption, as in TFM: a
  multi-worker run (its strategy has a cluster resolver) gets Orbit's
  `SaveCheckpointIfPreempted` unless `preemption_on_demand_checkpoint` is
  off. A single process's save and stop on SIGTERM/SIGINT is the runner's
  (`train_lib.OrbitExperimentRunner._build_stop_on_signal`), because it also
  decides whether the signals are caught.
  """
  t = params.trainer
  actions = [ProgressLogger(trainer.global_step, t.train_steps, clock=_clock_of(trainer))]
  if getattr(params.task, 'pruning', None):
    actions.append(PruningAction(model_dir, trainer.model, trainer.optimizer))
  if t.recovery_max_trials >= 0:
    condition = RecoveryCondition(trainer.global_step, t.loss_upper_bound,
                                  t.recovery_begin_steps, t.recovery_max_trials)
    actions.append(orbit.actions.ConditionalAction(
        condition, RecoveryAction(checkpoint_manager, trainer.checkpoint)))
  if t.preemption_on_demand_checkpoint and trainer.strategy.cluster_resolver:
    actions.append(orbit.actions.SaveCheckpointIfPreempted(
        trainer.strategy.cluster_resolver, checkpoint_manager, trainer.global_step,
        keep_running_after_save=True))
  return actions


@gin.configurable(module='official_like')
def get_eval_actions(params: cfg.ExperimentConfig, trainer: base_trainer.Trainer,
                     model_dir: str) -> List[orbit.Action]:
  """A one-line result log; with an EMA optimizer, the averaged weights are saved too."""
  actions = [EvalLogger(trainer.global_step, clock=_clock_of(trainer))]
  if isinstance(trainer.optimizer, ExponentialMovingAverage):
    actions.append(EMACheckpointing(model_dir, trainer.optimizer, trainer.checkpoint,
                                    params.trainer.max_to_keep))
  return actions
