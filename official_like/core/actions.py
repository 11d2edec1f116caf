"""Orbit actions run after each train loop or evaluation.

Each is a callable taking the loop's output dict, as Orbit expects; they are
built from the trainer config in `train_lib`. Orbit's `ConditionalAction` and
`NewBestMetric` are used as they are for the best-checkpoint export.
"""
import datetime
import math
import os
import time

from absl import logging
import orbit
import tensorflow as tf

from official_like.modeling.hyperparams import ConfigError


class ProgressLogger:
  """Logs `step i/N | steps/s | loss | ETA` after every train loop."""

  def __init__(self, global_step: tf.Variable, total_steps: int,
               loss_key: str = 'training_loss'):
    self._global_step = global_step
    self._total = total_steps
    self._loss_key = loss_key
    self._last = None

  def __call__(self, output) -> None:
    step, now = int(self._global_step.numpy()), time.monotonic()
    if self._last is None or now <= self._last[1] or step <= self._last[0]:
      rate = float('nan')
    else:
      rate = (step - self._last[0]) / (now - self._last[1])
    self._last = (step, now)
    eta = (datetime.timedelta(seconds=round((self._total - step) / rate))
           if rate > 0 and math.isfinite(rate) else '?')
    loss = output.get(self._loss_key)
    loss = f'{float(orbit.utils.get_value(loss)):.4f}' if loss is not None else '-'
    logging.info('step %d/%d | %.1f steps/s | loss %s | ETA %s',
                 step, self._total, rate, loss, eta)


class BestCheckpointExporter:
  """Saves a checkpoint to `export_dir` whenever an eval metric improves.

  The best value so far is kept by Orbit's NewBestMetric in
  `export_dir/info.json`, so it survives restarts.
  """

  def __init__(self, checkpoint: tf.train.Checkpoint, global_step: tf.Variable,
               export_dir: str, metric_name: str, higher_is_better: bool):
    self._metric_name = metric_name
    self._global_step = global_step
    self._manager = tf.train.CheckpointManager(
        checkpoint, export_dir, max_to_keep=1, checkpoint_name='best_ckpt',
        step_counter=global_step)
    condition = orbit.actions.NewBestMetric(
        self._metric_value, higher_is_better=higher_is_better,
        filename=os.path.join(export_dir, 'info.json'))
    self._action = orbit.actions.ConditionalAction(
        condition, lambda _: self._manager.save(checkpoint_number=self._global_step))

  def _metric_value(self, output):
    if self._metric_name not in output:
      raise ConfigError(('trainer', 'best_checkpoint_eval_metric'),
                        f'{self._metric_name!r} is not an eval output; '
                        f'available: {", ".join(sorted(output))}')
    return output[self._metric_name]

  def __call__(self, output) -> None:
    self._action(output)


class RecoveryAction:
  """Restores the last checkpoint when the loss is NaN or above a bound.

  After `max_trials` recoveries the run stops with an error instead of
  looping on a diverging model.
  """

  def __init__(self, checkpoint_manager: tf.train.CheckpointManager,
               global_step: tf.Variable, loss_upper_bound: float,
               begin_step: int, max_trials: int,
               loss_key: str = 'training_loss'):
    self._manager = checkpoint_manager
    self._global_step = global_step
    self._bound = loss_upper_bound
    self._begin = begin_step
    self._max_trials = max_trials
    self._loss_key = loss_key
    self.trials = 0

  def __call__(self, output) -> None:
    step = int(self._global_step.numpy())
    loss = float(orbit.utils.get_value(output[self._loss_key]))
    if step < self._begin or (math.isfinite(loss) and loss <= self._bound):
      return
    if self.trials >= self._max_trials:
      raise RuntimeError(
          f'training loss {loss} at step {step} exceeds '
          f'trainer.loss_upper_bound={self._bound} (or is not finite) and '
          f'trainer.recovery_max_trials={self._max_trials} recoveries were '
          'already used')
    self.trials += 1
    latest = self._manager.latest_checkpoint
    if latest is None:
      raise RuntimeError(
          f'training loss {loss} at step {step} exceeds '
          f'trainer.loss_upper_bound={self._bound} (or is not finite) and there '
          'is no checkpoint to recover from yet (see '
          'trainer.recovery_begin_steps and trainer.checkpoint_interval)')
    logging.warning('Loss %s at step %d diverged; restoring %s (recovery %d/%d)',
                    loss, step, latest, self.trials, self._max_trials)
    self._manager.checkpoint.restore(latest)
