"""The whole planned learning-rate curve, written once to TensorBoard as run `train/lr_schedule`.

The `train` run logs the rate every `summary_interval` steps, so a warmup
shorter than that never shows, and neither do the steps of a stepwise
schedule. At the start of training the chief therefore writes the curve the
optimizer will follow, under `model_dir/train/lr_schedule` with the train
run's tag `learning_rate`: TensorBoard draws the two on one chart, the plan
as a line and the logged values on it. The run's name sorts after `train`,
and TensorBoard draws a chart's runs in reverse name order, so the logged
values are drawn over the plan rather than hidden under it (checked in a
browser: tests/test_tensorboard.py). The points are the schedule's own values
(a pure function of the step, evaluated on all planned steps at once) at
the steps `lr_values.planned_steps` picks: every step of short runs and of
the warmup, each breakpoint with its neighbours, an even grid elsewhere,
and no more than TensorBoard keeps per tag by default.

Written once per model_dir: a resumed run finds the event file and leaves
it alone (it still gets the curve back, for the start-up checks).
"""
import dataclasses
import os
from typing import Optional

import numpy as np
import tensorflow as tf

from official_like.modeling.hyperparams import Config
from official_like.modeling.optimization import lr_values
from official_like.modeling.optimization import OptimizationConfig
from official_like.modeling.optimization import optimizer_factory
from official_like.modeling.optimization import OptimizerFactory
from official_like.run import summaries

RUN = 'train/lr_schedule'
TAG = 'learning_rate'


@dataclasses.dataclass
class Curve:
  """The planned rate at `steps` (int64, sorted) for `config` over `train_steps`."""
  config: OptimizationConfig
  train_steps: int
  steps: np.ndarray
  values: np.ndarray

  @property
  def peak(self) -> float:
    return float(np.nanmax(self.values)) if self.values.size else 0.0


def evaluate(schedule, steps) -> np.ndarray:
  """schedule(step) for each step, as float32; one call when the schedule takes a vector.

  The built-in schedules do; one registered at run time may only take a
  scalar, and is then called step by step.
  """
  steps = np.asarray(steps, np.int64)
  try:
    values = np.asarray(schedule(tf.constant(steps)), np.float32)
    if values.shape == steps.shape:
      return values
  except (TypeError, ValueError, tf.errors.InvalidArgumentError):
    pass
  return np.asarray([float(schedule(tf.constant(s))) for s in steps], np.float32)


def planned_curve(config: OptimizationConfig, train_steps: int,
                  budget: int = 1000) -> Curve:
  """The curve of the schedule `config` builds.

  The schedule is built afresh rather than read from the run's optimizer:
  reading a legacy Keras optimizer's rate creates its hyperparameter
  variables, and variables created on the chief only would break the
  collectives of a multi-worker run.
  """
  steps = lr_values.planned_steps(config, train_steps, budget=budget)
  values = evaluate(OptimizerFactory(config).build_schedule(), steps)
  return Curve(config, train_steps, steps, values)


def run_curve(params: Config, optimizer=None) -> Optional[Curve]:
  """The run's curve: of the schedule its optimizer was built from.

  The config is the one the task really built the optimizer from, when
  known (a task may edit it). None when no curve can be computed (e.g. an
  optimizer without a schedule to call); training goes on without it.
  """
  config = optimizer_factory.built_from(optimizer) if optimizer is not None else None
  try:
    return planned_curve(config or params.trainer.optimizer_config,
                         params.trainer.train_steps)
  except (TypeError, ValueError, AttributeError, tf.errors.OpError):
    return None


def write_curve(curve: Curve, model_dir: str) -> bool:
  """Writes model_dir/train/lr_schedule unless an earlier start did; True when written."""
  directory = os.path.join(model_dir, RUN)
  if tf.io.gfile.glob(os.path.join(directory, 'events.out.tfevents.*')):
    return False
  writer = tf.summary.create_file_writer(directory)
  summaries.ScalarWriter(writer).write_series(TAG, curve.steps, curve.values)
  writer.close()
  return True
