"""`train_lib.run_experiment` end to end on the registered experiments, kept small.

Every claim is read back from what a run leaves in model_dir: TensorBoard
event files, checkpoints, best_ckpt/info.json and params.yaml.
"""
import glob
import json
import logging
import os

import numpy as np
import pytest
import tensorflow as tf

from deadlines import deadline
from event_files import read_events, scalars
import experiments  # noqa: F401  (registers the experiments)
from official_like.core import base_trainer
from official_like.core import exp_factory
from official_like.core import task_factory
from official_like.core import train_lib
from official_like.core import train_utils
from official_like.modeling.hyperparams import ConfigError
from official_like.modeling.hyperparams import params_parser
from official_like.modeling.optimization import OptimizerFactory

STEPS = 80


def schedule_of(params):
  return OptimizerFactory(params.trainer.optimizer_config).build_learning_rate()


def digits_params(**trainer):
  """digits_mlp, shrunk: warmup then cosine decay over STEPS steps."""
  params = exp_factory.get_exp_config('digits_mlp')
  params.override({'trainer': dict(
      dict(train_steps=STEPS, steps_per_loop=10, summary_interval=20,
           checkpoint_interval=20, validation_interval=40, max_to_keep=2,
           optimizer_config={
               'learning_rate': {'cosine': {'decay_steps': STEPS}},
               'warmup': {'linear': {'warmup_steps': 20}}}),
      **trainer)})
  return params


def run(params, model_dir, mode='train', strategy=None, **kwargs):
  strategy = strategy or tf.distribute.get_strategy()
  with strategy.scope():
    task = task_factory.get_task(params.task, logging_dir=str(model_dir))
  logs = {}  # The last evaluation's results, whatever the mode.
  model, _ = train_lib.run_experiment(strategy, task, mode, params, str(model_dir),
                                      eval_actions=[logs.update], **kwargs)
  return model, {key: float(value) for key, value in logs.items()}


def checkpoint_step(path):
  return int(tf.train.load_checkpoint(path).get_tensor(
      'global_step/.ATTRIBUTES/VARIABLE_VALUE'))


def kept_checkpoint_steps(model_dir):
  state = tf.train.get_checkpoint_state(str(model_dir))
  return [checkpoint_step(p) for p in state.all_model_checkpoint_paths]


@pytest.fixture(scope='module', name='digits_run')
def fixture_digits_run(tmp_path_factory):
  """One train_and_eval run of digits_mlp shared by the read-only tests below."""
  model_dir = tmp_path_factory.mktemp('digits_train_and_eval')
  # validation_interval is not a multiple of steps_per_loop: loops that end
  # at an evaluation must not shift the summary steps.
  # continuous_eval_timeout only matters to the continuous_eval test, which
  # reuses these params so that params.yaml stays the same.
  params = digits_params(validation_interval=25, continuous_eval_timeout=1)
  model, logs = run(params, model_dir, 'train_and_eval',
                    strategy=tf.distribute.OneDeviceStrategy('/cpu:0'))
  return dict(params=params, model_dir=model_dir, logs=logs,
              weights=[w.copy() for w in model.get_weights()])


# TensorBoard summaries.

def test_learning_rate_summary_is_schedule_at_every_logged_step(digits_run):
  train = scalars(os.path.join(digits_run['model_dir'], 'train'))
  schedule = schedule_of(digits_run['params'])
  logged = train['learning_rate']
  # steps_per_loop=10 < summary_interval=20: only every other loop is logged.
  assert sorted(logged) == [20, 40, 60, 80]
  for step, value in logged.items():
    np.testing.assert_allclose(value, float(schedule(step)), rtol=1e-6,
                               atol=1e-9, err_msg=f'step {step}')
  # Warmup then cosine decay: the values really differ from step to step.
  assert len({round(v, 6) for v in logged.values()}) == 4
  for tag in ('training_loss', 'accuracy', 'steps_per_second'):
    assert sorted(train[tag]) == [20, 40, 60, 80], tag
  assert all(np.isfinite(v) and v > 0 for v in train['training_loss'].values())
  assert train['training_loss'][80] < train['training_loss'][20]


def test_validation_summaries_at_validation_interval(digits_run):
  validation = scalars(os.path.join(digits_run['model_dir'], 'validation'))
  assert set(validation) >= {'validation_loss', 'accuracy'}
  for tag in ('validation_loss', 'accuracy'):
    assert sorted(validation[tag]) == [25, 50, 75, 80], tag
  logs = digits_run['logs']
  np.testing.assert_allclose(logs['accuracy'], validation['accuracy'][80], rtol=1e-6)
  np.testing.assert_allclose(logs['validation_loss'],
                             validation['validation_loss'][80], rtol=1e-6)
  assert validation['accuracy'][80] > 0.5  # It learned something in 80 steps.


# Checkpoints.

def test_checkpoints_follow_interval_and_max_to_keep(digits_run):
  model_dir = digits_run['model_dir']
  # tf.train.CheckpointManager (as in TFM): the first save after the first
  # loop (10), then >= checkpoint_interval apart (30, 50, 70), and the final
  # step (80). max_to_keep=2 leaves the last two.
  assert kept_checkpoint_steps(model_dir) == [70, 80]
  assert len(glob.glob(os.path.join(model_dir, 'ckpt-*.index'))) == 2
  latest = tf.train.latest_checkpoint(str(model_dir))
  assert latest.endswith('ckpt-80')
  task = task_factory.get_task(digits_run['params'].task)
  model = task.build_model()
  tf.train.Checkpoint(model=model).read(latest).expect_partial(
  ).assert_existing_objects_matched()
  for saved, final in zip(model.get_weights(), digits_run['weights'], strict=True):
    np.testing.assert_array_equal(saved, final)


def test_best_checkpoint_holds_max_validation_accuracy(digits_run):
  model_dir = digits_run['model_dir']
  accuracy = scalars(os.path.join(model_dir, 'validation'))['accuracy']
  best_step = max(accuracy, key=accuracy.get)
  with open(os.path.join(model_dir, 'best_ckpt', 'info.json')) as f:
    best = json.load(f)
  np.testing.assert_allclose(best['accuracy'], accuracy[best_step], rtol=1e-6)
  assert best['best_ckpt_global_step'] == best_step
  best_ckpt = tf.train.latest_checkpoint(os.path.join(model_dir, 'best_ckpt'))
  assert best_ckpt is not None and os.path.exists(best_ckpt + '.index')
  assert checkpoint_step(best_ckpt) == best_step


def test_best_checkpoint_lower_is_better_for_diabetes_rmse(tmp_path):
  params = exp_factory.get_exp_config('diabetes_regression')
  params.override({'trainer': dict(train_steps=60, steps_per_loop=10,
                                   summary_interval=20, checkpoint_interval=20,
                                   validation_interval=10)})
  assert params.trainer.best_checkpoint_metric_comp == 'lower'
  run(params, tmp_path, 'train_and_eval')
  rmse = scalars(str(tmp_path / 'validation'))['rmse']
  assert sorted(rmse) == [10, 20, 30, 40, 50, 60]
  best_step = min(rmse, key=rmse.get)
  with open(tmp_path / 'best_ckpt' / 'info.json') as f:
    np.testing.assert_allclose(json.load(f)['rmse'], rmse[best_step], rtol=1e-6)
  assert checkpoint_step(
      tf.train.latest_checkpoint(str(tmp_path / 'best_ckpt'))) == best_step


def test_unknown_best_metric_names_key_and_available_metrics(tmp_path):
  params = digits_params(train_steps=10, validation_interval=10,
                         best_checkpoint_eval_metric='f1')
  with pytest.raises(ConfigError) as error:
    run(params, tmp_path, 'train_and_eval')
  message = str(error.value)
  assert message.startswith('trainer.best_checkpoint_eval_metric: ')
  assert "'f1'" in message and 'available: accuracy, validation_loss' in message


# Resume, params.yaml.

def test_resume_continues_step_schedule_and_weights(tmp_path, trainers, monkeypatch):
  half = STEPS // 2
  first_model, _ = run(digits_params(train_steps=half), tmp_path)
  saved = [w.copy() for w in first_model.get_weights()]
  assert kept_checkpoint_steps(tmp_path)[-1] == half
  assert trainers[0].optimizer.iterations.numpy() == half
  # A train-only run evaluates nothing, so it exports no best checkpoint.
  assert not os.path.exists(tmp_path / 'best_ckpt')

  at_first_loop = []
  original = base_trainer.Trainer.train_loop_begin

  def record(self):
    if not at_first_loop:
      at_first_loop.append([w.copy() for w in self.model.get_weights()])
    original(self)
  monkeypatch.setattr(base_trainer.Trainer, 'train_loop_begin', record)
  params = digits_params(train_steps=STEPS)
  run(params, tmp_path)

  for restored, expected in zip(at_first_loop[0], saved, strict=True):
    np.testing.assert_array_equal(restored, expected)
  resumed = trainers[1]
  assert resumed.global_step.numpy() == STEPS
  assert resumed.optimizer.iterations.numpy() == STEPS
  first_run, second_run = read_events(str(tmp_path / 'train'))
  assert sorted(first_run[1]['learning_rate']) == [20, 40]
  second_lr = second_run[1]['learning_rate']
  assert min(second_lr) > half and sorted(second_lr) == [60, 80]
  schedule = schedule_of(params)
  for step, value in second_lr.items():
    np.testing.assert_allclose(value, float(schedule(step)), rtol=1e-6, atol=1e-9)
    # A schedule restarted at 0 would log schedule(step - half) instead.
    assert abs(value - float(schedule(step - half))) > 1e-4
  # After the restart checkpoints are checkpoint_interval apart again.
  assert kept_checkpoint_steps(tmp_path) == [60, 80]

  # params.yaml is the second run's; the first run's differs and is kept.
  current = params_parser.load_yaml_file(str(tmp_path / 'params.yaml'))
  assert current['trainer']['train_steps'] == STEPS
  backups = glob.glob(str(tmp_path / 'params.yaml.*'))
  assert len(backups) == 1
  assert params_parser.load_yaml_file(backups[0])['trainer']['train_steps'] == half


def test_params_yaml_loads_back_to_the_config_run(digits_run):
  path = os.path.join(digits_run['model_dir'], 'params.yaml')
  loaded = exp_factory.get_exp_config('digits_mlp')
  loaded.override(path)
  assert loaded == digits_run['params']
  assert loaded.trainer.train_steps == STEPS  # Not the registered 600.
  assert not glob.glob(path + '.*')  # Written once, nothing to back up.


def test_save_params_keeps_every_different_earlier_file(tmp_path):
  params = digits_params()
  path = train_utils.serialize_config(params, str(tmp_path))
  train_utils.serialize_config(params, str(tmp_path))  # Same content: no backup.
  assert not glob.glob(path + '.*')
  for steps in (100, 120):  # Faster than the clock's resolution.
    train_utils.serialize_config(digits_params(train_steps=steps), str(tmp_path))
  backups = sorted(glob.glob(path + '.*'))
  assert len(backups) == 2
  kept = {params_parser.load_yaml_file(b)['trainer']['train_steps'] for b in backups}
  assert kept == {STEPS, 100}
  assert params_parser.load_yaml_file(path)['trainer']['train_steps'] == 120


# Modes.

def test_eval_mode_restores_latest_checkpoint(digits_run):
  model, logs = run(digits_run['params'], digits_run['model_dir'], 'eval',
                    save_summary=False)
  for restored, trained in zip(model.get_weights(), digits_run['weights'], strict=True):
    np.testing.assert_array_equal(restored, trained)
  assert set(logs) == {'accuracy', 'validation_loss', 'best_accuracy'}
  for key, value in digits_run['logs'].items():
    np.testing.assert_allclose(logs[key], value, rtol=1e-6)


def test_continuous_eval_after_finished_training_returns(digits_run):
  with deadline(60):
    model, logs = run(digits_run['params'], digits_run['model_dir'],
                      'continuous_eval', save_summary=False)
  for restored, trained in zip(model.get_weights(), digits_run['weights'], strict=True):
    np.testing.assert_array_equal(restored, trained)
  np.testing.assert_allclose(logs['accuracy'], digits_run['logs']['accuracy'],
                             rtol=1e-6)


def test_train_with_post_eval_returns_and_logs_final_eval(tmp_path):
  params = digits_params(train_steps=20, checkpoint_interval=20)
  _, logs = run(params, tmp_path, 'train', run_post_eval=True)
  assert set(logs) == {'accuracy', 'validation_loss', 'best_accuracy'}
  validation = scalars(str(tmp_path / 'validation'))
  assert sorted(validation['accuracy']) == [20]
  np.testing.assert_allclose(logs['accuracy'], validation['accuracy'][20], rtol=1e-6)


def test_train_mode_returns_no_eval_logs(tmp_path):
  params = digits_params(train_steps=10, recovery_max_trials=-1,
                         loss_upper_bound=1e-9)  # -1: bound not checked.
  model, logs = run(params, tmp_path, 'train')
  assert logs == {}
  assert model is not None
  assert not os.path.exists(tmp_path / 'validation')
  assert kept_checkpoint_steps(tmp_path) == [10]


def test_unknown_mode_fails_before_writing(tmp_path):
  model_dir = tmp_path / 'never_created'
  with pytest.raises(ConfigError) as error, deadline(60):
    run(digits_params(), model_dir, 'train_then_eval')
  # gin (run_experiment is configurable) may append a line naming the call.
  assert str(error.value).splitlines()[0] == (
      "mode: unknown mode 'train_then_eval'; valid modes: "
      'train, eval, train_and_eval, continuous_eval, train_and_post_eval')
  assert not model_dir.exists()


def test_invalid_params_fail_before_writing(tmp_path):
  model_dir = tmp_path / 'never_created'
  with pytest.raises(ConfigError, match='summary_interval: must be a multiple'):
    run(digits_params(summary_interval=15), model_dir, 'train')
  assert not model_dir.exists()


# Divergence recovery.

def test_recovery_restores_then_fails_after_max_trials(tmp_path, caplog):
  caplog.set_level(logging.WARNING)
  params = digits_params(train_steps=60, checkpoint_interval=10,
                         recovery_begin_steps=20, loss_upper_bound=1e-9,
                         recovery_max_trials=2)
  with pytest.raises(RuntimeError) as error:
    run(params, tmp_path)
  message = str(error.value)
  assert 'trainer.loss_upper_bound=1e-09' in message
  assert 'trainer.recovery_max_trials=2' in message
  messages = [r.getMessage() for r in caplog.records]
  restores = [m for m in messages if m.startswith('Diverged; restoring')]
  assert len(restores) == 2
  assert all('ckpt-10' in m for m in restores)
  trials = [m for m in messages if 'diverged (recovery' in m]
  assert 'recovery 1/2' in trials[0] and 'recovery 2/2' in trials[1]
  assert 'at step 20 ' in trials[0]
  # Restoring rewound the step: no checkpoint beyond the one restored.
  assert kept_checkpoint_steps(tmp_path) == [10]


def test_recovery_zero_trials_fails_at_first_bad_loss(tmp_path):
  params = digits_params(train_steps=40, loss_upper_bound=1e-9)
  assert params.trainer.recovery_max_trials == 0  # TFM's default.
  with pytest.raises(RuntimeError, match=r'trainer\.recovery_max_trials=0'):
    run(params, tmp_path)


def test_recovery_without_checkpoint_yet_says_why(tmp_path):
  params = digits_params(train_steps=40, loss_upper_bound=1e-9,
                         recovery_max_trials=1)
  with pytest.raises(RuntimeError) as error:
    run(params, tmp_path)
  assert 'no checkpoint to recover from yet' in str(error.value)
