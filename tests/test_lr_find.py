"""`trainer_main.py --mode=lr_find`: a range test whose suggestion trains, and no checkpoint.

The command runs as a user types it; the suggested rate it prints is then
used for 200 steps of digits_mlp, which must bring the loss well down.
"""
import csv
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from event_files import scalars
import experiments  # noqa: F401  (registers the experiments)
from official_like.core import exp_factory
from official_like.core import lr_find
from official_like.core import task_factory
from official_like.core import train_lib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope='module', name='found')
def fixture_found(tmp_path_factory):
  """(model_dir, stdout, suggested rate) of one `--mode=lr_find` run, seeded."""
  model_dir = str(tmp_path_factory.mktemp('find') / 'model')
  result = subprocess.run(
      [sys.executable, 'trainer_main.py', '--experiment=digits_mlp', '--mode=lr_find',
       f'--model_dir={model_dir}', '--params_override=runtime.seed=3'],
      cwd=REPO, capture_output=True, text=True, timeout=240, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  match = re.search(r'^Suggested learning rate: ([0-9.e+-]+) ', result.stdout, re.M)
  assert match, result.stdout
  return model_dir, result.stdout, float(match[1])


def test_writes_the_picture_and_csv_and_no_checkpoint(found):
  model_dir, stdout, rate = found
  assert sorted(os.listdir(model_dir)) == ['lr_find.csv', 'lr_find.png']
  with open(os.path.join(model_dir, 'lr_find.csv')) as f:
    rows = list(csv.reader(f))
  assert rows[0] == ['step', 'learning_rate', 'loss', 'smoothed_loss']
  rates = np.asarray([float(r[1]) for r in rows[1:]])
  assert rates[0] == pytest.approx(1e-6)
  ratios = rates[1:] / rates[:-1]
  assert np.allclose(ratios, 1e6 ** (1 / 99), rtol=1e-4)  # exponential, 1e-6 .. 1 in 100
  lowest = rates[int(np.argmin([float(r[3]) for r in rows[1:]]))]
  assert rate == pytest.approx(lowest / 10, rel=1e-2)
  assert ('--params_override trainer.optimizer_config.learning_rate.cosine.'
          f'initial_learning_rate={rate:.3g}') in stdout


def test_the_suggested_rate_trains(found, tmp_path):
  _, _, rate = found
  assert 1e-3 < rate < 1.0
  params = exp_factory.get_exp_config('digits_mlp')
  params.override({'trainer': {
      'train_steps': 200, 'steps_per_loop': 10, 'summary_interval': 10,
      'validation_interval': 200,
      'optimizer_config': {'learning_rate': {'type': 'constant',
                                             'constant': {'learning_rate': rate}},
                           'warmup': {'type': None}}}})
  with tf.distribute.get_strategy().scope():
    task = task_factory.get_task(params.task)
  logs = {}
  train_lib.run_experiment(tf.distribute.get_strategy(), task, 'train_and_eval', params,
                           str(tmp_path), eval_actions=[logs.update])
  loss = scalars(str(tmp_path / 'train'))['training_loss']
  assert np.mean([loss[s] for s in (180, 190, 200)]) < 0.3 * loss[10]
  assert float(logs['accuracy']) > 0.85


def test_smoothing_is_bias_corrected():
  assert np.allclose(lr_find.smooth([2.0] * 5), 2.0)  # no pull towards 0 at the start
  smoothed = lr_find.smooth([1.0, 3.0])
  assert smoothed[1] == pytest.approx((0.98 * 0.02 * 1 + 0.02 * 3) / (1 - 0.98**2))


def test_steepest_descent_is_looked_for_before_the_minimum():
  rates = np.logspace(-6, 0, 100)
  loss = np.concatenate([np.full(60, 2.0), np.linspace(2.0, 0.5, 30), np.linspace(0.5, 9, 10)])
  assert 1e-6 * 10 ** (6 * 60 / 99) <= lr_find.steepest_descent(rates, loss) <= rates[89]
  assert np.isnan(lr_find.steepest_descent(rates[:5], loss[88:93]))  # minimum at 1
