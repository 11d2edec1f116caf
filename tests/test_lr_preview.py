"""`trainer_main.py --mode=lr_preview`: table, PNG and CSV of the resolved plan, no training.

One real command line (the same flags and overrides a run takes, with the
`-1` token and batch scaling to resolve); the CSV is compared with the
schedule the factory builds from the resolved config.
"""
import csv
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

import experiments  # noqa: F401  (registers the experiments)
from official_like.core import exp_factory
from official_like.core import experiment_parser
from official_like.lr_tools import lr_preview
from official_like.modeling.optimization import OptimizerFactory

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPT = 'trainer.optimizer_config'
OVERRIDE = (f'trainer.train_steps=900,{OPT}.learning_rate.cosine.decay_steps=-1,'
            f'{OPT}.learning_rate_scaling.type=sqrt,'
            f'{OPT}.learning_rate_scaling.base_batch_size=16')


@pytest.fixture(scope='module', name='preview')
def fixture_preview(tmp_path_factory):
  model_dir = str(tmp_path_factory.mktemp('preview') / 'model')
  start = time.monotonic()
  result = subprocess.run(
      [sys.executable, 'trainer_main.py', '--experiment=digits_mlp', '--mode=lr_preview',
       f'--model_dir={model_dir}', f'--params_override={OVERRIDE}'],
      cwd=REPO, capture_output=True, text=True, timeout=240, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  return model_dir, result, time.monotonic() - start


def resolved_schedule():
  params = experiment_parser.parse_configuration(experiment_parser.ParseConfigOptions(
      experiment='digits_mlp', config_file=[], params_override=OVERRIDE),
      print_return=False)
  return OptimizerFactory(params.trainer.optimizer_config).build_learning_rate()


def test_csv_is_the_resolved_schedule_at_every_step(preview):
  model_dir, _, _ = preview
  with open(os.path.join(model_dir, 'lr_schedule.csv')) as f:
    rows = list(csv.reader(f))
  assert rows[0] == ['step', 'learning_rate']
  steps = np.asarray([int(r[0]) for r in rows[1:]])
  values = np.float32([float(r[1]) for r in rows[1:]])
  assert np.array_equal(steps, np.arange(901))
  expected = resolved_schedule()(tf.constant(steps, tf.int64)).numpy()
  assert np.array_equal(values, expected)
  # sqrt scaling from batch 16 to 64 doubles the peak; decay ends with the run.
  assert values.max() == pytest.approx(0.2 * 0.5 * (1 + np.cos(np.pi * 100 / 900)), rel=1e-6)
  assert values[900] == 0 and values[899] > 0


def test_table_names_the_points_that_matter(preview):
  _, result, _ = preview
  lines = result.stdout.splitlines()
  assert lines[0] == ('Learning-rate plan: Cosine decay with linear warmup; optimizer sgd, '
                      '900 steps, global batch 64')
  assert lines[1] == '  rates scaled (sqrt) from base batch 16 to 64'
  assert lines[3].split() == ['0', '0', 'start']
  assert lines[4].split()[0] == '100' and lines[4].endswith('warmup end')
  assert lines[5].split()[:2] == ['900', '0'] and lines[5].endswith(
      'decay end, end (trainer.train_steps)')
  assert lines[6].startswith('  max 0.19') and 'at step 100, min 0 at step 0' in lines[6]
  assert 'Learning rate resolved: trainer.optimizer_config.learning_rate.cosine.' \
      'decay_steps: -1 -> 900' in result.stderr


def test_only_the_picture_and_the_csv_are_written(preview):
  model_dir, _, seconds = preview
  assert sorted(os.listdir(model_dir)) == ['lr_schedule.csv', 'lr_schedule.png']
  with open(os.path.join(model_dir, 'lr_schedule.png'), 'rb') as f:
    assert f.read(8) == b'\x89PNG\r\n\x1a\n'
  assert seconds < 120  # a TensorFlow import, no model, no data


def test_preview_needs_neither_model_nor_data(tmp_path, monkeypatch):
  params = exp_factory.get_exp_config('digits_mlp')
  params.override({'task': {'train_data': {'input_path': 'gs://nowhere/*.tfrecord'}}})
  from official_like.core import task_factory  # pylint: disable=g-import-not-at-top

  def refuse(*args, **kwargs):
    raise AssertionError('lr_preview built a task')
  monkeypatch.setattr(task_factory, 'get_task', refuse)
  paths = lr_preview.run(params, str(tmp_path))
  assert os.path.getsize(paths['png']) > 10000


def test_key_points_of_a_stepwise_plan():
  params = exp_factory.get_exp_config('digits_mlp')
  params.override({'trainer': {'optimizer_config': {'learning_rate': {
      'type': 'stepwise', 'stepwise': {'boundaries': [200, 400, 700],
                                       'values': [0.1, 0.05, 0.01, 0.001]}}}}})
  points = lr_preview.key_points(params.trainer.optimizer_config, 600)
  assert points == [(0, 'start'), (100, 'warmup end'), (201, 'after boundary 200'),
                    (401, 'after boundary 400'), (600, 'end (trainer.train_steps)')]


def test_tool_modes_are_for_trainer_main_only():
  from official_like.common import flags  # pylint: disable=g-import-not-at-top
  from official_like.modeling.hyperparams import ConfigError  # pylint: disable=g-import-not-at-top
  assert flags.TOOL_MODES == ('lr_preview', 'lr_find')
  assert not set(flags.TOOL_MODES) & set(flags.MODES)
  for mode in flags.TOOL_MODES:
    with pytest.raises(ConfigError, match=f"^mode: unknown mode '{mode}'"):
      flags.check_mode(mode)
