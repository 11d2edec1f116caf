"""End-to-end tests of the command line: `trainer_main.py` as a real process.

Every run pays a TensorFlow import, so the independent runs of this module
(the bad-input cases, the flags run and the `make run` command) are launched
together, a few at a time, by the module fixture `runs`; only the runs the
selected tests need are started. The resume test kills a run and needs its
own timing, so it runs on its own.
"""
import concurrent.futures
import glob
import os
import re
import shlex
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
import yaml

from event_files import read_file
from model_dirs import populate, snapshot
from official_like.modeling.optimization import OptimizationConfig
from official_like.modeling.optimization import OptimizerFactory

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT = 240  # Seconds for one run, TensorFlow import included.
# Lines TensorFlow's C++ runtime prints at import on any machine (e.g. the
# cuInit failure on hosts without a GPU); not ours to judge.
_TF_RUNTIME_LINE = re.compile(r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] ')
_SHORT = ('trainer.train_steps=60,trainer.steps_per_loop=10,'
          'trainer.summary_interval=20')


def trainer_cmd(*args):
  return [sys.executable, 'trainer_main.py', *args]


def run_cmd(cmd):
  try:
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)
  except subprocess.TimeoutExpired as e:
    return e


def our_stderr_lines(stderr):
  return [line for line in stderr.splitlines()
          if line.strip() and not _TF_RUNTIME_LINE.match(line)]


def read_params(model_dir):
  with open(os.path.join(model_dir, 'params.yaml')) as f:
    return yaml.safe_load(f)


def lr_schedule(model_dir):
  """The learning-rate schedule the run's params.yaml describes."""
  config = OptimizationConfig(read_params(model_dir)['trainer']['optimizer_config'])
  return OptimizerFactory(config).build_learning_rate()


def assert_on_schedule(points, schedule):
  assert points
  for step, value in points:
    expected = float(schedule(step))
    assert np.isclose(value, expected, rtol=1e-6, atol=0), (step, value, expected)


# Bad input found only once TensorFlow is loaded (the rest, gin typos included:
# tests/test_cli.py):
# (extra args, model_dir is 'fresh' or 'existing', substrings of the one error line).
BAD_INPUT = {
    'tpu_without_tpu': (
        ['--experiment=digits_mlp',
         '--params_override=runtime.distribution_strategy=tpu'], 'existing',
        ['--tpu', 'runtime.tpu', "distribution_strategy='tpu'"]),
}

GIN_FIRST = ("experiments.digits.build_mlp.activation = 'sigmoid'\n"
             'official_like.run_experiment.run_post_eval = False\n')
GIN_SECOND = "experiments.digits.build_mlp.activation = 'tanh'\n"
CONFIG_A = {'trainer': {'train_steps': 1000, 'max_to_keep': 7},
            'task': {'model': {'mlp': {'hidden_sizes': [32]}}},
            'runtime': {'num_gpus': 1}}
CONFIG_B = {'trainer': {'train_steps': 500, 'max_to_keep': 2},
            'task': {'model': {'mlp': {'dropout': 0.0}}}}


def _prepare(name, root):
  """Writes the case's input files; returns (command, model_dir or None)."""
  d = os.path.join(root, name)
  os.makedirs(d)
  model_dir = os.path.join(d, 'model')
  if name == 'flags':
    for file_name, text in [('a.yaml', yaml.safe_dump(CONFIG_A)),
                            ('b.yaml', yaml.safe_dump(CONFIG_B)),
                            ('first.gin', GIN_FIRST), ('second.gin', GIN_SECOND)]:
      with open(os.path.join(d, file_name), 'w') as f:
        f.write(text)
    return trainer_cmd(
        '--experiment=digits_mlp', '--mode=train', f'--model_dir={model_dir}',
        f'--config_file={d}/a.yaml', f'--config_file={d}/b.yaml',
        # Two overrides, applied in order: the second's train_steps wins.
        '--params_override=trainer.train_steps=999,trainer.validation_steps=3',
        f'--params_override={_SHORT}', f'--gin_file={d}/first.gin',
        f'--gin_file={d}/second.gin',
        '--gin_params=official_like.run_experiment.run_post_eval=True',
        '--gin_params=official_like.run_experiment.save_summary=True',
        '--num_gpus=0', '--tpu=my-tpu', '--verbosity=1'), model_dir
  if name in ('make_run', 'make_run_again'):
    return make_run_command(model_dir), model_dir
  args, model_dir_kind, _ = BAD_INPUT[name]
  if model_dir_kind == 'existing':
    populate(model_dir)
  if model_dir_kind:
    args.append(f'--model_dir={model_dir}')
  return trainer_cmd(*args), model_dir


def make_run_command(model_dir):
  """`make run`'s recipe with the Makefile's defaults, shortened to 100 steps."""
  with open(os.path.join(REPO, 'Makefile')) as f:
    makefile = f.read()
  variables = dict(re.findall(r'^(\w+) \?= (\S+)$', makefile, re.M))
  recipe = re.search(r'^run:.*\n\t(.+)$', makefile, re.M).group(1)
  assert recipe == ('$(PY) trainer_main.py --experiment=$(EXPERIMENT) '
                    '--mode=train_and_eval --model_dir=$(MODEL_DIR)')
  assert variables['EXPERIMENT'] == 'digits_mlp'
  recipe = (recipe.replace('$(PY)', shlex.quote(sys.executable))
            .replace('$(EXPERIMENT)', variables['EXPERIMENT'])
            .replace('$(MODEL_DIR)', shlex.quote(model_dir)))
  return shlex.split(recipe) + ['--params_override=trainer.train_steps=100']


@pytest.fixture(scope='module')
def runs(request, tmp_path_factory):
  """{name: (completed process, model_dir, files before)} for the runs wanted.

  Runs are concurrent (3 at a time) because most of each run is the import.
  """
  wanted = set()
  for item in request.session.items:
    if getattr(item, 'module', None) is not request.module:
      continue
    callspec = getattr(item, 'callspec', None)
    if callspec is not None and 'case' in callspec.params:
      wanted.add(callspec.params['case'])
    for fixture, names in [('flags_run', ['flags']), ('make_run', ['make_run']),
                           ('make_run_twice', ['make_run', 'make_run_again'])]:
      if fixture in item.fixturenames:
        wanted.update(names)
  root = str(tmp_path_factory.mktemp('cli'))
  prepared = {name: _prepare(name, root) for name in sorted(wanted)}
  before = {name: snapshot(model_dir) if model_dir and os.path.isdir(model_dir)
            else None for name, (_, model_dir) in prepared.items()}
  with concurrent.futures.ThreadPoolExecutor(3) as pool:
    futures = {name: pool.submit(run_cmd, cmd)
               for name, (cmd, _) in prepared.items()}
  return {name: (futures[name].result(), prepared[name][1], before[name])
          for name in prepared}


def finished(result):
  assert not isinstance(result, subprocess.TimeoutExpired), f'timed out: {result}'
  return result


@pytest.fixture(scope='module')
def flags_run(runs):
  proc, model_dir, _ = runs['flags']
  assert finished(proc).returncode == 0, proc.stderr[-3000:]
  return proc, model_dir


@pytest.fixture(scope='module')
def make_run(runs):
  return runs['make_run']


@pytest.fixture(scope='module')
def make_run_twice(runs):
  return runs['make_run'], runs['make_run_again']


def test_make_run_gives_the_same_numbers_every_time(make_run_twice):
  finals = [re.findall(r'^Final evaluation: .*$', finished(proc).stdout, re.M)
            for proc, _, _ in make_run_twice]
  assert finals[0] and finals[0] == finals[1], finals


@pytest.mark.parametrize('case', sorted(BAD_INPUT))
def test_bad_input_exits_with_one_clear_line_and_writes_nothing(runs, case):
  proc, model_dir, before = runs[case]
  finished(proc)
  _, model_dir_kind, expected = BAD_INPUT[case]
  lines = our_stderr_lines(proc.stderr)
  assert proc.returncode == 2, proc.stderr[-3000:]
  assert len(lines) == 1, proc.stderr
  error = lines[0]
  assert error.startswith('trainer_main.py: error: ')
  assert 'Traceback' not in proc.stderr
  for text in expected:
    assert text in error, (text, error)
  assert proc.stdout == ''
  if model_dir_kind == 'fresh':
    assert not os.path.exists(model_dir)
  elif model_dir_kind == 'existing':
    assert snapshot(model_dir) == before


def test_flag_precedence_in_params_yaml(flags_run):
  """defaults < config files (later wins) < --num_gpus/--tpu < each --params_override."""
  _, model_dir = flags_run
  params = read_params(model_dir)
  trainer = params['trainer']
  assert trainer['train_steps'] == 60  # the second override beats the first and both files
  assert trainer['validation_steps'] == 3  # the first override is kept
  assert (trainer['steps_per_loop'], trainer['summary_interval']) == (10, 20)
  assert trainer['max_to_keep'] == 2  # second file beats first
  assert params['task']['model']['mlp']['hidden_sizes'] == [32]  # first file
  assert params['task']['model']['mlp']['dropout'] == 0.0  # second file
  assert trainer['checkpoint_interval'] == 200  # experiment default kept
  assert params['task']['model']['type'] == 'mlp'
  assert params['runtime']['num_gpus'] == 0  # --num_gpus beats the file's 1
  assert params['runtime']['tpu'] == 'my-tpu'
  assert params['runtime']['distribution_strategy'] == 'one_device'


def test_gin_files_and_params_reach_the_run(flags_run):
  proc, model_dir = flags_run
  with open(os.path.join(model_dir, 'operative_config.gin')) as f:
    operative = f.read()
  # Gin writes the shortest unambiguous name of each configurable.
  for binding in [r"(experiments\.digits\.)?build_mlp\.activation = 'tanh'",
                  r'(official_like\.)?run_experiment\.run_post_eval = True',
                  r'(official_like\.)?run_experiment\.save_summary = True']:
    assert re.search(f'^{binding}$', operative, re.M), (binding, operative)
  # run_post_eval=True made `--mode=train` evaluate once at the end.
  assert re.search(r'^Final evaluation: accuracy=[\d.]+, best_accuracy=[\d.]+, validation_loss=[\d.]+$',
                   proc.stdout, re.M), proc.stdout
  assert os.path.isdir(os.path.join(model_dir, 'validation'))
  assert os.path.exists(os.path.join(model_dir, 'ckpt-60.index'))


def _log_lines(proc):
  """stdout and stderr lines, without absl's prefix and TF's C++ lines."""
  lines = []
  for line in (proc.stdout + proc.stderr).splitlines():
    if not line.strip() or _TF_RUNTIME_LINE.match(line):
      continue
    lines.append(re.sub(r'^[IWEF]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\] ', '', line))
  return lines


def test_make_run_log_is_one_line_per_event(make_run):
  proc, _, _ = make_run
  lines = _log_lines(finished(proc))
  assert 'cuInit' not in proc.stderr
  assert len(lines) == len(set(lines)), lines
  assert not [line for line in lines if 'nan' in line.lower().split()]
  progress = [line for line in lines if re.match(r'step +\d+/100 \|', line)]
  evaluations = [line for line in lines if line.startswith('eval | step ')]
  # Shortened to 100 steps, the run stops inside the 600-step decay: lr_lint says so.
  plan = [line for line in lines if line.startswith('warning: Learning rate plan: ')]
  assert len(progress) == 2 and len(evaluations) == 1 and len(plan) == 1, lines
  # Start, progress, evaluation, the plan warning and the three closing lines: nothing else.
  assert len(lines) == 1 + len(progress) + len(evaluations) + len(plan) + 3, lines
  assert not any(line.startswith(('train | step:', ' eval | step:')) for line in lines)


def test_verbosity_brings_orbit_lines_back_once(flags_run):
  proc, _ = flags_run
  lines = _log_lines(proc)
  orbit = [line for line in lines if line.startswith('train | step:')]
  assert orbit and len(orbit) == len(set(orbit)), lines
  assert re.search(r'^I\d{4} [\d:.]+ +\d+ actions\.py:\d+\] step ', proc.stderr, re.M)


def test_default_log_is_the_messages_alone(make_run):
  proc, _, _ = make_run
  lines = [line for line in finished(proc).stderr.splitlines()
           if line.strip() and not _TF_RUNTIME_LINE.match(line)]
  assert lines and not [line for line in lines if re.match(r'^[IWEF]\d{4} ', line)], lines
  assert [line for line in lines if line.startswith('warning: Learning rate plan: ')]
  progress = [line for line in lines if line.startswith('step ')]
  assert len({line.index('| loss') for line in progress}) == 1, progress  # Aligned.


def test_verbosity_1_has_no_library_debug_flood(tmp_path):
  """lr_preview draws a figure: matplotlib's findfont DEBUG lines only at -v 2."""
  proc = finished(run_cmd(trainer_cmd('--experiment=digits_mlp', '--mode=lr_preview',
                                      f'--model_dir={tmp_path}', '--verbosity=1')))
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert 'findfont' not in proc.stderr
  assert not re.search(r'^D\d{4} ', proc.stderr, re.M)


def test_progress_lines_show_step_rate_loss_and_eta(flags_run):
  proc, _ = flags_run
  pattern = re.compile(r'step +(\d+)/60 \| +(\S+) steps/s \| loss (\S+) +\| lr (\S+)'
                       r'( +\| ETA (\S+))?\n')
  found = pattern.findall(proc.stdout + proc.stderr)
  assert [int(step) for step, *_ in found] == [10, 20, 30, 40, 50, 60]
  for step, rate, loss, lr, _, eta in found:
    assert np.isfinite(float(loss)) and float(loss) > 0
    assert np.isfinite(float(lr))
    if int(step) == 10:  # The first loop has no previous point to time from.
      assert rate == '-' and not eta
    else:
      assert float(rate) > 0
      assert re.fullmatch(r'\d+:\d\d:\d\d', eta), eta
  assert found[-1][-1] == '0:00:00'


def test_make_run_command_trains_and_prints_model_dir(make_run):
  proc, model_dir, _ = make_run
  assert finished(proc).returncode == 0, proc.stderr[-3000:]
  assert f'Model directory: {model_dir}\n' in proc.stdout
  assert (f'TensorBoard: {sys.executable} -m tensorboard.main --logdir {model_dir} '
          '--host 127.0.0.1\n') in proc.stdout
  accuracy = float(re.search(r'Final evaluation: accuracy=([\d.]+)', proc.stdout)[1])
  assert accuracy > 0.5
  assert read_params(model_dir)['trainer']['train_steps'] == 100
  assert os.path.exists(os.path.join(model_dir, 'ckpt-100.index'))


@pytest.mark.parametrize('mode', ['train', 'train_and_eval'])
def test_a_finished_run_says_nothing_is_left_to_train(make_run, mode):
  """`--mode=train` or `make run` again: one line, no checkpoint warnings, an eval for train_and_eval."""
  proc, model_dir, _ = make_run
  assert finished(proc).returncode == 0, proc.stderr[-3000:]
  cmd = [arg for arg in make_run_command(model_dir) if not arg.startswith('--mode=')]
  cmd.append(f'--mode={mode}')
  again = finished(run_cmd(cmd))
  assert again.returncode == 0, again.stderr[-3000:]
  lines = _log_lines(again)
  assert 'Already at step 100 of 100: nothing to train' in lines, lines
  assert not [line for line in lines if 'unrestored' in line or 'checkpoint.py' in line], lines
  assert not re.search(r'^step +\d+/100 \|', again.stderr, re.M)
  evaluations = [line for line in lines if line.startswith('eval | step 100 |')]
  assert len(evaluations) == (mode == 'train_and_eval'), lines


def test_a_best_checkpoint_metric_without_export_subdir_is_a_warning(tmp_path):
  proc = finished(run_cmd(trainer_cmd(
      '--experiment=digits_mlp', f'--model_dir={tmp_path}', '--params_override='
      "trainer.train_steps=20,trainer.validation_interval=20,trainer.steps_per_loop=10,"
      "trainer.summary_interval=10,trainer.best_checkpoint_export_subdir=''")))
  assert proc.returncode == 0, proc.stderr[-3000:]
  warnings = [line for line in proc.stderr.splitlines() if 'best_checkpoint_eval' in line]
  assert warnings == [
      "warning: trainer.best_checkpoint_eval_metric='accuracy' is set but "
      'trainer.best_checkpoint_export_subdir is empty, so no best checkpoint is exported; '
      'set it (e.g. best_ckpt) or clear the metric'], proc.stderr[-3000:]
  assert not (tmp_path / 'best_ckpt').exists()


RESUME_OVERRIDE = {
    'trainer': {'train_steps': 300, 'steps_per_loop': 10, 'summary_interval': 20,
                'checkpoint_interval': 50},
    # A wider model and batch so the run lasts seconds, long enough to kill.
    'task': {'model': {'mlp': {'hidden_sizes': [1024, 1024]}},
             'train_data': {'global_batch_size': 256}},
}


def _latest_step(model_dir):
  latest = tf.train.latest_checkpoint(model_dir)
  return int(latest.rsplit('-', 1)[1]) if latest else None


def _events_of(model_dir, pid):
  files = glob.glob(os.path.join(model_dir, 'train', f'events.out.tfevents.*.{pid}.*'))
  assert len(files) == 1, files
  return files[0]


def test_resume_after_sigkill_continues_step_and_schedule(tmp_path):
  override = tmp_path / 'resume.yaml'
  override.write_text(yaml.safe_dump(RESUME_OVERRIDE))
  model_dir = str(tmp_path / 'model')
  cmd = trainer_cmd('--experiment=digits_mlp', '--mode=train',
                    f'--model_dir={model_dir}', f'--params_override={override}')
  first = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
  try:
    # Kill once a checkpoint past the first one exists and a learning_rate
    # summary has reached disk, so both runs contribute events.
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline and first.poll() is None:
      step = _latest_step(model_dir)
      events = glob.glob(os.path.join(model_dir, 'train', 'events.out.tfevents.*'))
      if step and step >= 50 and events and read_file(events[0]).get('learning_rate'):
        break
      time.sleep(0.05)
    assert first.poll() is None, 'first run ended before it could be killed'
    first.send_signal(signal.SIGKILL)
    assert first.wait(timeout=30) == -signal.SIGKILL
  finally:
    if first.poll() is None:
      first.kill()
      first.wait(timeout=30)
  killed_at = _latest_step(model_dir)
  assert 50 <= killed_at < 300
  first_points = sorted(read_file(_events_of(model_dir, first.pid)).get('learning_rate', {}).items())

  second = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
  try:
    out, err = second.communicate(timeout=TIMEOUT)
  finally:
    if second.poll() is None:
      second.kill()
      second.wait(timeout=30)
  assert second.returncode == 0, err[-3000:]
  assert f'Starting train in {model_dir} from ckpt-{killed_at}\n' in err
  progress = [int(s) for s in re.findall(r'step +(\d+)/300 \|', err)]
  assert progress == list(range(killed_at + 10, 301, 10))
  assert _latest_step(model_dir) == 300
  params = read_params(model_dir)  # --params_override given as a YAML file.
  assert params['trainer']['train_steps'] == 300
  assert params['task']['model']['mlp']['hidden_sizes'] == [1024, 1024]
  assert params['task']['train_data']['global_batch_size'] == 256

  second_points = sorted(read_file(_events_of(model_dir, second.pid)).get('learning_rate', {}).items())
  first_logged = second_points[0][0]
  assert first_logged > killed_at
  assert [s for s, _ in second_points] == list(
      range(first_logged, 301, 20))
  assert first_logged - killed_at <= 20
  assert first_points and first_points[0][0] == 20
  schedule = lr_schedule(model_dir)
  assert_on_schedule(first_points + second_points, schedule)
