"""Runs that cannot go on say so: NaN losses, a model_dir in use, no checkpoint to evaluate.

NaNs are injected at chosen steps by a Task subclass and go through
`run_experiment`; the lock is tried by real processes; `continuous_eval`
waits on an empty model_dir with a short timeout.
"""
import logging
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from deadlines import SUBPROCESS_TIMEOUT
from deadlines import deadline
from deadlines import finish
from experiments import digits
from official_like.core import exp_factory
from official_like.core import task_factory
from official_like.core import train_lib
from official_like.modeling.hyperparams import ConfigError
from official_like.run import model_dir_lock
from official_like.run import seeding
from official_like.run.errors import RunError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class NaNTask(digits.DigitsClassificationTask):
  """digits, with a NaN loss at the optimizer iterations `nan_at` (once, or always)."""

  def __init__(self, params, nan_at, once):
    super().__init__(params)
    self._nan_at = tf.constant(nan_at, tf.int64)
    self._once = once
    self._fired = tf.Variable(False, trainable=False)
    self._iteration = None

  def train_step(self, inputs, model, optimizer, metrics=None):
    self._iteration = optimizer.iterations
    try:
      return super().train_step(inputs, model, optimizer, metrics)
    finally:
      self._iteration = None

  def build_losses(self, labels, model_outputs, aux_losses=None):
    loss = super().build_losses(labels, model_outputs, aux_losses)
    if self._iteration is None:  # Evaluation.
      return loss
    hit = tf.reduce_any(tf.equal(tf.cast(self._iteration, tf.int64), self._nan_at))
    if self._once:
      hit = tf.logical_and(hit, tf.logical_not(self._fired))
      self._fired.assign(tf.logical_or(self._fired, hit))
    return tf.where(hit, tf.constant(np.nan, loss.dtype), loss)


def digits_params(**trainer):
  params = exp_factory.get_exp_config('digits_mlp')
  params.override({'trainer': dict(dict(
      train_steps=60, steps_per_loop=10, summary_interval=10, checkpoint_interval=10,
      validation_interval=60), **trainer)})
  return params


def messages(caplog):
  return [r.getMessage() for r in caplog.records]


# NaN and inf.

def test_nan_before_recovery_begin_steps_rolls_back_and_training_goes_on(tmp_path, caplog):
  caplog.set_level(logging.WARNING)
  params = digits_params(recovery_begin_steps=1000, recovery_max_trials=2)
  task = NaNTask(params.task, nan_at=[24], once=True)  # Inside the loop ending at 30.
  model, _ = train_lib.run_experiment(tf.distribute.get_strategy(), task, 'train', params,
                                      str(tmp_path))
  logged = messages(caplog)
  assert [m for m in logged if 'diverged' in m] == [
      'Training loss nan at step 30 diverged (recovery 1/2)']
  assert [m for m in logged if m.startswith('Diverged; restoring')] == [
      f'Diverged; restoring {tmp_path}/ckpt-20']
  assert tf.train.latest_checkpoint(str(tmp_path)).endswith('ckpt-60')
  assert all(np.isfinite(w).all() for w in model.get_weights())


def test_nan_every_step_fails_after_max_trials_naming_step_and_value(tmp_path, caplog):
  caplog.set_level(logging.WARNING)
  params = digits_params(recovery_max_trials=2)
  task = NaNTask(params.task, nan_at=list(range(24, 60)), once=False)
  with pytest.raises(RunError) as error:
    train_lib.run_experiment(tf.distribute.get_strategy(), task, 'train', params,
                             str(tmp_path))
  assert str(error.value).splitlines()[0].startswith(
      'training loss nan at step 30 is not finite, and trainer.recovery_max_trials=2 '
      'recoveries are used up; ')
  restores = [m for m in messages(caplog) if m.startswith('Diverged; restoring')]
  assert restores == [f'Diverged; restoring {tmp_path}/ckpt-20'] * 2
  assert tf.train.latest_checkpoint(str(tmp_path)).endswith('ckpt-20')


# continuous_eval.

def test_continuous_eval_on_empty_model_dir_honours_the_timeout(tmp_path):
  params = digits_params(continuous_eval_timeout=2)
  task = task_factory.get_task(params.task)
  started = time.monotonic()
  with deadline(60), pytest.raises(RunError) as error:
    train_lib.run_experiment(tf.distribute.get_strategy(), task, 'continuous_eval',
                             params, str(tmp_path))
  assert time.monotonic() - started < 30
  assert str(error.value).splitlines()[0] == (
      f'continuous_eval: no checkpoint appeared in {tmp_path} within '
      'trainer.continuous_eval_timeout=2 s')


def test_continuous_eval_stops_when_checkpoints_stop_before_train_steps(tmp_path, caplog):
  caplog.set_level(logging.WARNING)
  params = digits_params(train_steps=10, continuous_eval_timeout=1)
  train_lib.run_experiment(tf.distribute.get_strategy(), task_factory.get_task(params.task),
                           'train', params, str(tmp_path))
  params.override({'trainer': {'train_steps': 60}})  # As if training died at step 10.
  with deadline(60):
    _, logs = train_lib.run_experiment(
        tf.distribute.get_strategy(), task_factory.get_task(params.task), 'continuous_eval',
        params, str(tmp_path), run_post_eval=True)
  assert 0.0 <= logs['accuracy'] <= 1.0
  assert ('continuous_eval: no new checkpoint for 1 s (trainer.continuous_eval_timeout); '
          'stopping after step 10 of 60') in messages(caplog)


# Determinism without a seed.

def test_determinism_without_seed_is_refused_before_writing(tmp_path, monkeypatch):
  monkeypatch.setattr(seeding, 'determinism_enabled', lambda: True)
  params = digits_params()
  params.runtime.seed = None  # digits_mlp sets one.
  model_dir = tmp_path / 'never_created'
  with pytest.raises(ConfigError) as error:
    train_lib.run_experiment(tf.distribute.get_strategy(),
                             task_factory.get_task(params.task), 'train', params,
                             str(model_dir))
  assert str(error.value).splitlines()[0].startswith(
      'runtime.seed: must be set when op determinism is on (TF_DETERMINISTIC_OPS=1')
  assert not model_dir.exists()


# One writer per model_dir.

def trainer_main(log, model_dir, *args, env=None):
  """Starts trainer_main.py; its stderr goes to the file `log` (pipes could fill up)."""
  with open(log, 'w') as err:
    return subprocess.Popen(
        [sys.executable, 'trainer_main.py', '--experiment=digits_mlp',
         f'--model_dir={model_dir}', *args], cwd=REPO, stdout=subprocess.DEVNULL,
        stderr=err, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2', **(env or {})))



def test_ctrl_c_while_tensorflow_loads_is_one_line(tmp_path):
  """SIGINT during the TensorFlow import: one line, exit 130, no traceback, nothing written.

  The --import file marks the moment it starts importing TensorFlow, which
  takes seconds; the signal is sent then.
  """
  mark, user_module = tmp_path / 'importing', tmp_path / 'slow.py'
  user_module.write_text(f'open({str(mark)!r}, "w").close()\nimport tensorflow\n')
  model_dir = tmp_path / 'model'
  log = str(tmp_path / 'err')
  with open(log, 'w') as err:
    # As from a terminal: a test run in the background inherits SIGINT ignored.
    proc = subprocess.Popen(
        [sys.executable, 'trainer_main.py', '--experiment=digits_mlp',
         f'--model_dir={model_dir}', f'--import={user_module}'], cwd=REPO,
        stdout=subprocess.DEVNULL, stderr=err,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
  while proc.poll() is None and not mark.exists():
    time.sleep(0.01)
  proc.send_signal(signal.SIGINT)
  code, err = finish(proc, log)
  assert code == 130, err[-3000:]
  assert err.strip().splitlines() == [
      'Interrupted before training started; nothing was written.'], err[-3000:]
  assert not model_dir.exists()


def take_lock(model_dir):
  """A bare process (no TensorFlow) taking the lock; (exit code, stderr)."""
  code = ('import sys; from official_like.run import model_dir_lock as m\n'
          'try:\n  m.ModelDirLock(sys.argv[1]).acquire()\n'
          'except m.ModelDirInUseError as e:\n  sys.exit(str(e))\n')
  proc = subprocess.run([sys.executable, '-c', code, str(model_dir)], cwd=REPO,
                        capture_output=True, text=True, timeout=60, check=False)
  return proc.returncode, proc.stderr


def wait_for_holder(path, proc, log):
  """The lock file's text once `proc` wrote it; fails if `proc` ends or takes too long."""
  with deadline(SUBPROCESS_TIMEOUT):
    while proc.poll() is None:
      if os.path.exists(path) and open(path).read():
        return open(path).read()
      time.sleep(0.05)
  raise AssertionError(open(log).read()[-3000:])


def test_second_training_process_refuses_eval_may_read_killed_holder_frees(tmp_path):
  model_dir = tmp_path / 'model'
  logs = {name: str(tmp_path / f'{name}.err')
          for name in ('first', 'second', 'reader', 'determinism')}
  first = trainer_main(logs['first'], model_dir, '--mode=train',
                       '--params_override=trainer.train_steps=1000000')
  try:
    holder = wait_for_holder(model_dir / model_dir_lock.LOCK_NAME, first, logs['first'])
    assert holder.startswith(f'pid {first.pid} on host ')
    with deadline(SUBPROCESS_TIMEOUT):
      while first.poll() is None and not tf.train.latest_checkpoint(str(model_dir)):
        time.sleep(0.1)
    params_yaml = (model_dir / 'params.yaml').read_bytes()
    second = trainer_main(logs['second'], model_dir, '--mode=train')
    reader = trainer_main(logs['reader'], model_dir, '--mode=eval')
    determinism = trainer_main(logs['determinism'], tmp_path / 'unseeded', '--mode=train',
                               '--params_override=runtime.seed=null',
                               env={'TF_DETERMINISTIC_OPS': '1'})
    code, err = finish(second, logs['second'])
    assert code == 2, err[-3000:]  # Refused before TensorFlow (tests/test_cli.py).
    assert 'Traceback' not in err
    lines = [line for line in err.splitlines() if 'trainer_main.py: error:' in line]
    assert lines == [f'trainer_main.py: error: model_dir {model_dir} is in use by another '
                     f'training process ({holder.strip()}); wait for it to end, stop it, '
                     'or use another --model_dir'], err[-3000:]
    assert (model_dir / 'params.yaml').read_bytes() == params_yaml
    code, err = finish(reader, logs['reader'])
    assert code == 0, err[-3000:]
    code, err = finish(determinism, logs['determinism'])
    assert code == 2, err[-3000:]
    assert 'trainer_main.py: error: runtime.seed: must be set when op determinism is on' in err
    assert not (tmp_path / 'unseeded').exists()
    assert first.poll() is None, open(logs['first']).read()[-3000:]
    code, err = take_lock(model_dir)
    assert code == 1 and f'(pid {first.pid} on host ' in err
  finally:
    first.kill()
    first.wait()
  assert take_lock(model_dir) == (0, '')  # The killed holder's lock is gone with it.
