"""EMA as a user reaches it: one config key, then run_experiment or trainer_main.

The Trainer creates the averages itself; evaluation (and the best and EMA
checkpoints) use the averaged weights, which are swapped back afterwards;
a resumed run restores the averages with the optimizer.
"""
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import experiments  # noqa: F401  (registers the experiments)
from official_like.core import exp_factory
from official_like.core import task_factory
from official_like.core import train_lib
from official_like.modeling.optimization import ExponentialMovingAverage

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EMA = {'ema': {'average_decay': 0.9, 'trainable_weights_only': False}}


def ema_params(train_steps=40):
  params = exp_factory.get_exp_config('digits_mlp')
  params.override({'trainer': {
      'train_steps': train_steps, 'steps_per_loop': 10, 'summary_interval': 10,
      'checkpoint_interval': 20, 'validation_interval': 20,
      'optimizer_config': EMA}})
  return params


def run(params, model_dir, mode):
  strategy = tf.distribute.get_strategy()
  task = task_factory.get_task(params.task)
  logs = {}
  model, _ = train_lib.run_experiment(strategy, task, mode, params, str(model_dir),
                                      eval_actions=[logs.update])
  return task, model, {k: float(v) for k, v in logs.items()}


def accuracy_of(task, params, weights):
  model = task.build_model()
  model.set_weights(weights)
  dataset = task.build_inputs(params.task.validation_data)
  hits = total = 0
  for features, labels in dataset:
    predicted = np.argmax(model(features, training=False), axis=-1)
    hits += int(np.sum(predicted == labels.numpy().reshape(-1)))
    total += len(predicted)
  return hits / total


def saved_model_weights(path, task):
  model = task.build_model()
  tf.train.Checkpoint(model=model).read(path).expect_partial()
  return model.get_weights()


def test_ema_trains_evaluates_averages_and_resumes(tmp_path):
  params = ema_params()
  task, model, logs = run(params, tmp_path, 'train_and_eval')
  raw = model.get_weights()
  latest = tf.train.latest_checkpoint(str(tmp_path))
  assert latest.endswith('ckpt-40')
  # After evaluation the model holds the trained (not averaged) weights again.
  for a, b in zip(raw, saved_model_weights(latest, task), strict=True):
    np.testing.assert_array_equal(a, b)
  averaged = saved_model_weights(
      tf.train.latest_checkpoint(str(tmp_path / 'ema_checkpoints')), task)
  assert any(not np.array_equal(a, b) for a, b in zip(raw, averaged))
  # The logged evaluation is that of the averaged weights.
  assert logs['accuracy'] == pytest.approx(accuracy_of(task, params, averaged), rel=1e-6)

  # An eval-only run restores the averages from the checkpoint: same result.
  _, _, again = run(params, tmp_path, 'eval')
  assert again['accuracy'] == logs['accuracy']
  np.testing.assert_allclose(again['validation_loss'], logs['validation_loss'], rtol=1e-6)

  # Training on resumes from step 40 with the averages in the optimizer.
  task, _, _ = run(ema_params(train_steps=60), tmp_path, 'train')
  assert tf.train.latest_checkpoint(str(tmp_path)).endswith('ckpt-60')
  reader = tf.train.load_checkpoint(str(tmp_path / 'ckpt-60'))
  averages = [k for k in reader.get_variable_to_shape_map() if 'average' in k]
  assert averages, 'the averages are not in the checkpoint'


def test_trainer_main_with_ema_trains_and_resumes(tmp_path):
  override = ('trainer.train_steps=20,trainer.steps_per_loop=10,'
              'trainer.summary_interval=10,trainer.validation_interval=10,'
              'trainer.optimizer_config.ema.average_decay=0.99')
  cmd = [sys.executable, 'trainer_main.py', '--experiment=digits_mlp',
         f'--model_dir={tmp_path}', f'--params_override={override}']
  first = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300,
                         check=False)
  assert first.returncode == 0, first.stderr[-3000:]
  assert 'Final evaluation: accuracy=' in first.stdout
  assert tf.train.latest_checkpoint(str(tmp_path / 'ema_checkpoints'))
  longer = override.replace('train_steps=20', 'train_steps=30')
  again = subprocess.run(cmd[:-1] + [f'--params_override={longer}'], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, check=False)
  assert again.returncode == 0, again.stderr[-3000:]
  assert f'Starting train_and_eval in {tmp_path} from ckpt-20\n' in again.stderr
  assert tf.train.latest_checkpoint(str(tmp_path)).endswith('ckpt-30')


def test_factory_builds_the_ema_optimizer():
  optimizer = task_factory.get_task(ema_params().task).create_optimizer(
      ema_params().trainer.optimizer_config)
  assert isinstance(optimizer, ExponentialMovingAverage)
