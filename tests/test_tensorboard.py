"""What a user sees in TensorBoard after a run: the real `tensorboard` binary.

The run is made in-process with `train_lib.run_experiment` (the code
`trainer_main.py` calls, without paying another TensorFlow import); the
TensorBoard server is the one installed next to this Python, listening on
127.0.0.1 only and read through its HTTP data API.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pytest
import tensorflow as tf
import yaml

import experiments  # pylint: disable=unused-import
from official_like.core import exp_factory
from official_like.core import task_factory
from official_like.core import train_lib
from official_like.modeling.optimization import OptimizationConfig
from official_like.modeling.optimization import OptimizerFactory

STARTUP_TIMEOUT = 60
TRAIN_STEPS = 120
SUMMARY_INTERVAL = 20


@pytest.fixture(scope='module')
def finished_run(tmp_path_factory):
  """A finished digits_mlp run: (model_dir, final eval logs)."""
  model_dir = str(tmp_path_factory.mktemp('tb') / 'model')
  params = exp_factory.get_exp_config('digits_mlp')
  params.override({'trainer': {
      'train_steps': TRAIN_STEPS, 'steps_per_loop': 10,
      'summary_interval': SUMMARY_INTERVAL, 'validation_interval': 60}})
  strategy = tf.distribute.OneDeviceStrategy('/cpu:0')
  with strategy.scope():
    task = task_factory.get_task(params.task)
  eval_logs = {}
  train_lib.run_experiment(strategy, task, 'train_and_eval', params, model_dir,
                           save_summary=True, eval_actions=[eval_logs.update])
  return model_dir, eval_logs


def free_port():
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def get_json(port, path, **query):
  url = f'http://127.0.0.1:{port}{path}'
  if query:
    url += '?' + urllib.parse.urlencode(query)
  with urllib.request.urlopen(url, timeout=10) as response:
    return json.loads(response.read())


@pytest.fixture
def tensorboard(finished_run, tmp_path):
  """Port of a TensorBoard serving the finished run's model_dir."""
  binary = os.path.join(os.path.dirname(sys.executable), 'tensorboard')
  assert os.access(binary, os.X_OK), binary
  port = free_port()
  log = open(tmp_path / 'tensorboard.log', 'w')  # pylint: disable=consider-using-with
  # Own session: the fast loader starts a data server child; both go at the end.
  proc = subprocess.Popen(
      [binary, '--logdir', finished_run[0], '--host', '127.0.0.1',
       '--port', str(port)], stdout=log, stderr=subprocess.STDOUT,
      start_new_session=True)
  try:
    yield port, proc, tmp_path / 'tensorboard.log'
  finally:
    for sig in (signal.SIGTERM, signal.SIGKILL):
      if proc.poll() is not None:
        break
      os.killpg(proc.pid, sig)
      try:
        proc.wait(timeout=15)
      except subprocess.TimeoutExpired:
        pass
    try:
      os.killpg(proc.pid, signal.SIGKILL)  # The data server, if it outlived it.
    except ProcessLookupError:
      pass
    log.close()


def poll(port, proc, log_path, path, done, **query):
  """GETs `path` until `done(json)`; fails after STARTUP_TIMEOUT seconds."""
  deadline = time.monotonic() + STARTUP_TIMEOUT
  last = None
  while time.monotonic() < deadline:
    assert proc.poll() is None, f'tensorboard exited: {log_path.read_text()[-2000:]}'
    try:
      last = get_json(port, path, **query)
      if done(last):
        return last
    except (urllib.error.URLError, ConnectionError, ValueError):
      pass
    time.sleep(0.5)
  pytest.fail(f'no answer from tensorboard for {path} in {STARTUP_TIMEOUT}s; '
              f'last: {last}; log: {log_path.read_text()[-2000:]}')


def test_learning_rate_in_tensorboard_is_the_schedule(finished_run, tensorboard):
  model_dir, eval_logs = finished_run
  port, proc, log_path = tensorboard
  tags = poll(port, proc, log_path, '/data/plugin/scalars/tags',
              lambda t: 'learning_rate' in t.get('train', {}) and
              'accuracy' in t.get('validation', {}) and
              'final/validation_accuracy' in t.get('hparams', {}))
  assert {'training_loss', 'accuracy'} <= set(tags['train'])
  assert set(tags) == {'train', 'train/lr_schedule', 'validation', 'hparams'}, tags
  # The HParams run's tags are its own: each metric has one chart.
  assert all(tag.startswith('final/') for tag in tags['hparams']), tags['hparams']
  points = poll(port, proc, log_path, '/data/plugin/scalars/scalars',
                lambda p: p and p[-1][1] == TRAIN_STEPS,
                run='train', tag='learning_rate')
  steps = [step for _, step, _ in points]
  assert steps == list(range(SUMMARY_INTERVAL, TRAIN_STEPS + 1, SUMMARY_INTERVAL))

  with open(os.path.join(model_dir, 'params.yaml')) as f:
    optimizer_config = yaml.safe_load(f)['trainer']['optimizer_config']
  schedule = OptimizerFactory(OptimizationConfig(optimizer_config)).build_learning_rate()
  for _, step, value in points:
    expected = float(schedule(step))
    assert np.isclose(value, expected, rtol=1e-6, atol=0), (step, value, expected)
  # Warmup (100 steps) then cosine decay: the curve rises, then falls.
  values = [value for _, _, value in points]
  assert values[:5] == sorted(values[:5]) and values[-1] < values[-2]

  accuracy = poll(port, proc, log_path, '/data/plugin/scalars/scalars',
                  lambda p: p and p[-1][1] == TRAIN_STEPS,
                  run='validation', tag='accuracy')
  assert [step for _, step, _ in accuracy] == [60, 120]
  assert np.isclose(accuracy[-1][2], float(eval_logs['accuracy']), rtol=1e-6)


def _browser():
  browser = next(filter(None, map(shutil.which, ('chromium', 'chromium-browser',
                                                   'google-chrome'))), None)
  if browser is None:
    pytest.skip('no Chromium on this machine (apt-get install chromium)')
  return browser


# TensorBoard's run colours on the Scalars tab, by run order (hparams first).
TRAIN_BLUE, PLAN_RED = (0, 119, 187), (204, 51, 17)


def test_logged_learning_rate_is_drawn_over_the_plan(tensorboard, tmp_path):
  """A screenshot of the README's address: the train run's line lies on top of the plan.

  Both follow the same curve; the plan shows only where nothing was logged
  yet (the start of the warmup). Drawn the other way round, the train
  run's line would be hidden under the plan.
  """
  from PIL import Image  # pylint: disable=g-import-not-at-top
  port, proc, log_path = tensorboard
  poll(port, proc, log_path, '/data/plugin/scalars/tags', lambda tags: 'train' in tags)
  shot = tmp_path / 'learning_rate.png'
  subprocess.run(
      [_browser(), '--headless', '--no-sandbox', '--hide-scrollbars',
       '--window-size=1300,750', '--virtual-time-budget=20000', f'--screenshot={shot}',
       f'http://127.0.0.1:{port}/#scalars&_smoothingWeight=0&tagFilter=learning_rate'],
      capture_output=True, timeout=180, check=False)
  pixels = np.asarray(Image.open(shot).convert('RGB')).astype(int)
  chart = pixels[150:480, 330:]  # The first card, right of the side bar.
  train, plan = [int((np.abs(chart - colour).sum(-1) < 60).sum())
                 for colour in (TRAIN_BLUE, PLAN_RED)]
  assert train > 3 * plan > 0, (train, plan)


def test_learning_rate_card_in_a_real_browser(tensorboard):
  """Headless Chromium renders TensorBoard's scalars page with a learning_rate card."""
  browser = _browser()
  port, proc, log_path = tensorboard
  poll(port, proc, log_path, '/data/plugin/scalars/tags', lambda tags: 'train' in tags)
  page = subprocess.run(
      [browser, '--headless', '--no-sandbox', '--disable-gpu', '--virtual-time-budget=20000',
       '--dump-dom', f'http://127.0.0.1:{port}/#timeseries'],
      capture_output=True, text=True, timeout=180, check=False).stdout
  cards = re.findall(r'class="group-title" title="([^"]+)"', page)
  assert 'learning_rate' in cards, cards
  assert 'training_loss' in cards, cards
