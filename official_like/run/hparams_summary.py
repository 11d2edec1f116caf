"""The run's key hyperparameters and final metrics on TensorBoard's HParams dashboard.

Comparing runs means a table: which optimizer, schedule, peak rate, batch
and length gave which final accuracy. When training starts, the chief
writes one HParams session (`hp.hparams`) into `model_dir/hparams`, once
per model_dir. The metric columns are scalars in that same run, written at
each evaluation and at the last step under tags of their own
(`final/validation_accuracy`, `final/train_loss`, ...): the dashboard shows
the last value of each, i.e. the final ones. Tags such as
`validation/accuracy` would add a second chart for every metric to the
Scalars and Time-series dashboards, and a tag equal to the `train` run's
would share its chart.

Why a run of its own: TensorBoard looks for a session's metrics in the
session's run and the runs below it. A session written into model_dir
itself is the run '.', under which it finds nothing when `--logdir` is
model_dir; `hparams` works for both `--logdir model_dir` and a parent
directory holding many runs, and keeps other scalars (the lr_schedule
curve, steps/s) out of the table. No experiment summary (`hparams_config`)
is written: TensorBoard uses only one per logdir, so runs of different
experiments under one logdir would share a wrong list of columns.

The trial id is the model_dir, so two runs with equal hyperparameters stay
two rows instead of being averaged into one group.
"""
import os
from typing import Dict, Optional, Union

import tensorflow as tf
from tensorboard.plugins.hparams import api as hp

from official_like.modeling.hyperparams import Config
from official_like.modeling.hyperparams import OneOfConfig
from official_like.run import summaries

RUN = 'hparams'
_NOT_COMPARED = ('learning_rate', 'steps_per_second')
Value = Union[str, int, float, bool]


def _optimizer_settings(optimizer) -> Dict[str, Value]:
  """Momentum, weight decay and clipping where the optimizer has them."""
  out = {}
  if getattr(optimizer, 'momentum', None) is not None:
    out['momentum'] = float(optimizer.momentum)
  for key in ('weight_decay_rate', 'weight_decay'):
    if getattr(optimizer, key, None) is not None:
      out['weight_decay'] = float(getattr(optimizer, key))
      break
  clips = [f'{k}={getattr(optimizer, k):g}' for k in
           ('clipnorm', 'global_clipnorm', 'clipvalue', 'gradient_clip_norm')
           if getattr(optimizer, k, None)]
  out['gradient_clipping'] = ', '.join(clips) or 'none'
  return out


def hyperparameters(params: Config, curve=None) -> Dict[str, Value]:
  """The values shown for this run; `curve` (an `lr_plan.Curve`) gives the peak rate."""
  opt = curve.config if curve is not None else params.trainer.optimizer_config
  warmup = opt.warmup.get()
  scaling = opt.learning_rate_scaling
  data = getattr(params.task, 'train_data', None)
  values = {
      'task': type(params.task).__name__,
      'optimizer': opt.optimizer.type,
      'learning_rate_schedule': opt.learning_rate.type,
      'warmup': opt.warmup.type or 'none',
      'warmup_steps': int(getattr(warmup, 'warmup_steps', 0) or 0),
      'learning_rate_scaling': scaling.type if scaling is not None else 'none',
      'global_batch_size': int(getattr(data, 'global_batch_size', 0) or 0),
      'train_steps': int(params.trainer.train_steps),
      'ema': opt.ema is not None,
      'mixed_precision': params.runtime.mixed_precision_dtype or 'float32',
      **_optimizer_settings(opt.optimizer.get()),
  }
  if curve is not None:
    values['peak_learning_rate'] = curve.peak
  model = getattr(params.task, 'model', None)
  if isinstance(model, OneOfConfig) and model.type:
    values['model'] = model.type
  seed = getattr(params.runtime, 'seed', None)
  if seed is not None:
    values['seed'] = int(seed)
  return values


def write_hparams(params: Config, model_dir: str,
                  curve=None) -> Optional[str]:
  """Writes the session into model_dir/hparams unless there; returns the directory written."""
  directory = os.path.join(model_dir, RUN)
  if tf.io.gfile.glob(os.path.join(directory, 'events.out.tfevents.*')):
    return None  # Written by an earlier start of this run.
  writer = tf.summary.create_file_writer(directory)
  with writer.as_default():
    hp.hparams(hyperparameters(params, curve), trial_id=os.path.abspath(model_dir))
  writer.close()
  return directory


def final_tag(split: str, key: str) -> str:
  """`final/<split>_<metric>`: no other run's tag, so no chart holds the same thing twice."""
  name = key.removeprefix('training_').removeprefix('validation_')
  return f'final/{split}_{name}'


class FinalMetrics:
  """Orbit actions writing the run's latest metrics next to its HParams session.

  Only what compares runs (losses and metrics, not the learning rate or
  steps/s), under `final_tag` names, and only at each evaluation and at the
  last train step: the `train` and `validation` runs keep the curves. Only
  scalar numbers are written. Chief only, as the session itself. The event
  file is opened at the first write: the runner builds these actions before
  it holds the model_dir's lock, and `write_hparams` must see the session's
  directory as the run left it.
  """

  def __init__(self, model_dir: str, global_step: tf.Variable, train_steps: int):
    self._directory = os.path.join(model_dir, RUN)
    self._writer = self._scalars = None
    self._global_step = global_step
    self._last = train_steps
    self._latest = {'train': {}, 'validation': {}}

  def _keep(self, split: str, output) -> None:
    values = summaries.numeric_scalars(output)
    self._latest[split] = {final_tag(split, k): v for k, v in values.items()
                           if k not in _NOT_COMPARED}

  def _write(self) -> None:
    if self._writer is None:
      self._writer = tf.summary.create_file_writer(self._directory)
      self._scalars = summaries.ScalarWriter(self._writer)
    values = {**self._latest['train'], **self._latest['validation']}
    self._scalars.write(dict(sorted(values.items())), int(self._global_step.numpy()))
    self._writer.flush()

  def train(self, output) -> None:
    self._keep('train', output)
    if int(self._global_step.numpy()) >= self._last:
      self._write()

  def evaluate(self, output) -> None:
    self._keep('validation', output)
    self._write()
