"""The planned learning-rate curve in TensorBoard (run `lr_schedule`), read back from disk.

One short digits_mlp run through `run_experiment`, set up the way the issue
describes the pain: a warmup shorter than `summary_interval` (so the train
run shows none of it), `decay_steps: -1` and batch scaling, both resolved
by the runner itself since no parser ran.
"""
import glob
import logging
import os

import numpy as np
import pytest
import tensorflow as tf
import yaml

from event_files import scalars
import experiments  # noqa: F401  (registers the experiments)
from official_like.core import exp_factory
from official_like.core import task_factory
from official_like.core import train_lib
from official_like.modeling.optimization import OptimizationConfig
from official_like.modeling.optimization import OptimizerFactory
from official_like.run import lr_plan

STEPS, WARMUP, INTERVAL = 240, 30, 40


def digits_params(train_steps=STEPS):
  params = exp_factory.get_exp_config('digits_mlp')
  params.override({
      'task': {'train_data': {'global_batch_size': 128}},
      'trainer': {
          'train_steps': train_steps, 'steps_per_loop': 20, 'summary_interval': INTERVAL,
          'checkpoint_interval': 120, 'validation_interval': 120,
          'optimizer_config': {
              'learning_rate': {'cosine': {'decay_steps': -1}},
              'warmup': {'linear': {'warmup_steps': WARMUP}},
              'learning_rate_scaling': {'base_batch_size': 64}}}})
  return params


def run(params, model_dir, mode='train'):
  with tf.distribute.get_strategy().scope():
    task = task_factory.get_task(params.task)
  train_lib.run_experiment(tf.distribute.get_strategy(), task, mode, params, model_dir)


class _Lines(logging.Handler):
  def __init__(self):
    super().__init__(logging.WARNING)
    self.lines = []

  def emit(self, record):
    self.lines.append(record.getMessage())


@pytest.fixture(scope='module', name='digits_run')
def fixture_digits_run(tmp_path_factory):
  """(model_dir, the schedule params.yaml describes, warnings logged)."""
  model_dir = str(tmp_path_factory.mktemp('plan') / 'model')
  lines = _Lines()
  logging.getLogger().addHandler(lines)
  try:
    run(digits_params(), model_dir)
  finally:
    logging.getLogger().removeHandler(lines)
  with open(os.path.join(model_dir, 'params.yaml')) as f:
    written = yaml.safe_load(f)['trainer']['optimizer_config']
  schedule = OptimizerFactory(OptimizationConfig(written)).build_learning_rate()
  return model_dir, written, schedule, lines.lines


def test_the_curve_is_the_schedule_at_every_step(digits_run):
  model_dir, _, schedule, _ = digits_run
  plan = scalars(os.path.join(model_dir, lr_plan.RUN))[lr_plan.TAG]
  assert sorted(plan) == list(range(STEPS + 1))  # 241 points: every step, warmup included
  expected = schedule(tf.constant(sorted(plan), tf.int64)).numpy()
  assert np.array_equal(np.float32([plan[s] for s in sorted(plan)]), expected)
  assert plan[0] == 0 and plan[WARMUP - 1] < plan[WARMUP] and plan[STEPS] == 0


def test_the_train_run_lies_on_the_curve(digits_run):
  model_dir, _, _, _ = digits_run
  plan = scalars(os.path.join(model_dir, lr_plan.RUN))[lr_plan.TAG]
  logged = scalars(os.path.join(model_dir, 'train'))['learning_rate']
  assert sorted(logged) == list(range(INTERVAL, STEPS + 1, INTERVAL))
  assert min(logged) > WARMUP  # The warmup is in the plan only.
  # Equal up to float32 rounding: the trainer's values come from a tf.function
  # that Grappler may rewrite (see lr_schedule's docstring: up to 1.6e-5
  # relative on a cosine's cancelling tail).
  for step, value in logged.items():
    assert np.isclose(value, plan[step], rtol=2e-5, atol=1e-9), (step, value, plan[step])


def test_params_yaml_holds_the_resolved_values_and_the_scaling(digits_run):
  _, written, _, lines = digits_run
  assert written['learning_rate']['cosine']['decay_steps'] == STEPS
  assert written['learning_rate']['cosine']['initial_learning_rate'] == 0.2
  assert written['learning_rate_scaling'] == {
      'type': 'linear', 'base_batch_size': 64, 'resolved_batch_size': 128}
  assert any(f'warmup_steps={WARMUP} is shorter than trainer.summary_interval='
             f'{INTERVAL}' in line for line in lines)


def test_written_once_per_model_dir(digits_run, tmp_path):
  model_dir = str(tmp_path / 'model')
  run(digits_params(train_steps=40), model_dir)
  first = glob.glob(os.path.join(model_dir, lr_plan.RUN, '*'))
  run(digits_params(train_steps=60), model_dir)  # resumed, with another plan
  assert glob.glob(os.path.join(model_dir, lr_plan.RUN, '*')) == first
  assert max(scalars(os.path.join(model_dir, lr_plan.RUN))[lr_plan.TAG]) == 40


def test_long_runs_keep_warmup_and_boundaries_within_budget():
  config = OptimizationConfig({
      'optimizer': {'type': 'sgd'},
      'learning_rate': {'type': 'stepwise', 'stepwise': {
          'boundaries': [30000, 60000, 90000], 'values': [0.4, 0.04, 0.004, 0.0004]}},
      'warmup': {'type': 'linear', 'linear': {'warmup_steps': 250}}})
  curve = lr_plan.planned_curve(config, 100000)
  steps = curve.steps.tolist()
  assert len(steps) <= 1000  # TensorBoard keeps 1000 points per tag by default.
  assert set(range(251)) <= set(steps)
  for boundary in (30000, 60000, 90000):
    assert {boundary - 1, boundary, boundary + 1} <= set(steps)
  schedule = OptimizerFactory(config).build_learning_rate()
  assert np.array_equal(curve.values, schedule(tf.constant(curve.steps)).numpy())
  at = dict(zip(steps, curve.values.tolist()))
  assert at[30000] == pytest.approx(0.4) and at[30001] == pytest.approx(0.04)
