"""`trainer_main.py` killed and rerun ends with the uninterrupted run's weights, bit for bit.

Every run is the same command: `digits_mlp` with `runtime.seed` set and
TF_DETERMINISTIC_OPS=1, 100 steps, a checkpoint every 10. Two uninterrupted
runs, started together, give the reference and show that the command is
reproducible. Then one model_dir is SIGKILLed at seeded moments - while a
checkpoint is being written (its temporary directory exists), right after
a checkpoint's index file appears (before the `checkpoint` file names it),
and at a random time - and rerun each time; another gets SIGTERM, then
SIGINT (Ctrl-C). Both must end with the reference's final checkpoint.
"""
import os
import random
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
import yaml

from deadlines import SUBPROCESS_TIMEOUT
from deadlines import finish

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS = 100
CONFIG = {
    'runtime': {'seed': 11},
    'trainer': {'train_steps': STEPS, 'steps_per_loop': 10, 'summary_interval': 10,
                'checkpoint_interval': 10, 'max_to_keep': 3},
    # Wider than the default so that a checkpoint write takes a few ms.
    'task': {'model': {'mlp': {'hidden_sizes': [512, 512]}},
             'train_data': {'global_batch_size': 128}},
}
SKIPPED = ('_CHECKPOINTABLE_OBJECT_GRAPH', 'save_counter/', 'train_iterator/')
_CKPT = re.compile(r'^ckpt-(\d+)(\.index|_temp)')


def env():
  drop = ('TF_CONFIG', 'TPU_NAME')
  return dict({k: v for k, v in os.environ.items() if k not in drop},
              TF_DETERMINISTIC_OPS='1', TF_CPP_MIN_LOG_LEVEL='2')


@pytest.fixture(scope='module', name='command')
def fixture_command(tmp_path_factory):
  """The command, as a function of the model_dir."""
  config = tmp_path_factory.mktemp('config') / 'seeded.yaml'
  config.write_text(yaml.safe_dump(CONFIG))
  return lambda model_dir: [sys.executable, 'trainer_main.py', '--experiment=digits_mlp',
                            '--mode=train', f'--model_dir={model_dir}',
                            f'--params_override={config}']


def start(cmd, log):
  with open(f'{log}.out', 'w') as out, open(f'{log}.err', 'w') as err:
    return subprocess.Popen(cmd, cwd=REPO, env=env(), stdout=out, stderr=err)



def latest_step(model_dir):
  latest = tf.train.latest_checkpoint(str(model_dir))
  return int(latest.rsplit('-', 1)[1]) if latest else 0


def state(model_dir):
  """Every tensor of the latest checkpoint but per-run bookkeeping; reads it whole."""
  path = tf.train.latest_checkpoint(str(model_dir))
  reader = tf.train.load_checkpoint(path)
  return {key: reader.get_tensor(key) for key, _ in tf.train.list_variables(path)
          if not key.startswith(SKIPPED)}


def assert_same_state(a, b):
  assert sorted(a) == sorted(b)
  differing = [key for key in a if not np.array_equal(a[key], b[key])]
  assert not differing, differing


@pytest.fixture(scope='module', name='reference')
def fixture_reference(command, tmp_path_factory):
  """Starts two uninterrupted runs together; calling it waits for them.

  Returns their final state and asserts they agree. The runs go on while
  the tests below kill theirs.
  """
  root = tmp_path_factory.mktemp('reference')
  procs = [start(command(root / f'run{i}'), root / f'run{i}') for i in range(2)]
  done = []

  def wait():
    if not done:
      for i, proc in enumerate(procs):
        code, err = finish(proc, root / f'run{i}.err')
        assert code == 0, err[-3000:]
      assert latest_step(root / 'run0') == STEPS
      done.append(state(root / 'run0'))
      assert_same_state(done[0], state(root / 'run1'))
    return done[0]
  yield wait
  for proc in procs:
    if proc.poll() is None:
      proc.kill()
      proc.wait()


def written_since(model_dir, start_ns):
  """{(step, '.index' or '_temp')} of checkpoint files written since `start_ns`."""
  found = set()
  for name in os.listdir(model_dir) if os.path.isdir(model_dir) else []:
    match = _CKPT.match(name)
    try:
      if match and os.stat(os.path.join(model_dir, name)).st_mtime_ns >= start_ns:
        found.add((int(match[1]), match[2]))
    except FileNotFoundError:  # Renamed or deleted meanwhile.
      pass
  return found


def kill_when(proc, start_ns, model_dir, trigger, rng):
  """SIGKILLs `proc` at the moment `trigger` names; returns the files left."""
  target = latest_step(model_dir) + 10 * rng.randint(1, 3)
  delay = rng.uniform(0.0, 0.4)
  first_index = None
  deadline = time.monotonic() + SUBPROCESS_TIMEOUT
  while proc.poll() is None and time.monotonic() < deadline:
    new = written_since(model_dir, start_ns)
    if trigger == 'during write' and any(kind == '_temp' for _, kind in new):
      break
    if trigger == 'index written' and (target, '.index') in new:
      break
    if trigger == 'random time':
      first_index = first_index or (any(k == '.index' for _, k in new) and time.monotonic())
      if first_index and time.monotonic() - first_index >= delay:
        break
    time.sleep(0.002)
  assert proc.poll() is None, f'the run ended before the {trigger!r} kill'
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  return sorted(os.listdir(model_dir))


def test_sigkill_at_random_moments_then_rerun_gives_the_same_weights(
    command, reference, tmp_path):
  model_dir = tmp_path / 'killed'
  rng = random.Random(20261127)
  kills = []
  for i, trigger in enumerate(['during write', 'index written', 'random time']):
    before, start_ns = latest_step(model_dir), time.time_ns()
    proc = start(command(model_dir), tmp_path / f'kill{i}')
    files = kill_when(proc, start_ns, str(model_dir), trigger, rng)
    after = latest_step(model_dir)
    kills.append((trigger, before, after, [f for f in files if f.startswith('ckpt-')]))
    assert after >= before
    if after:
      state(model_dir)  # The checkpoint named by `checkpoint` is complete.
  print('kills (trigger, step before, step after, files):', *kills, sep='\n  ')
  # At least one kill left a half-written or unannounced checkpoint behind.
  assert any(f'ckpt-{after + 10}' in ' '.join(files) for _, _, after, files in kills)
  code, err = finish(start(command(model_dir), tmp_path / 'final'), tmp_path / 'final.err')
  assert code == 0, err[-3000:]
  assert latest_step(model_dir) == STEPS
  assert not [f for f in os.listdir(model_dir) if f.endswith('_temp')]
  assert_same_state(state(model_dir), reference())


@pytest.mark.parametrize('signals', [(signal.SIGTERM, signal.SIGINT)])
def test_sigterm_and_ctrl_c_save_stop_and_resume_exactly(command, reference, tmp_path,
                                                          signals):
  model_dir = tmp_path / 'preempted'
  for i, signum in enumerate(signals):
    before = latest_step(model_dir)
    proc = start(command(model_dir), tmp_path / f'signal{i}')
    while proc.poll() is None and latest_step(model_dir) <= before:
      time.sleep(0.005)
    assert proc.poll() is None, 'the run ended before the signal'
    proc.send_signal(signum)
    code, err = finish(proc, tmp_path / f'signal{i}.err')
    step = latest_step(model_dir)
    assert code == 128 + signum, err[-3000:]
    line = (f'Preempted at step {step} ({signal.Signals(signum).name}): saved ckpt-{step}; '
            'rerun the same command to resume.')
    assert err.count('Preempted at step') == 1 and line + '\n' in err, err[-2000:]
    assert 'Traceback' not in err
    assert before < step < STEPS and step % 10 == 0
  code, err = finish(start(command(model_dir), tmp_path / 'final'), tmp_path / 'final.err')
  assert code == 0, err[-3000:]
  assert_same_state(state(model_dir), reference())
