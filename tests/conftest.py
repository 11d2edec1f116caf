"""Shared test set-up: one TensorFlow import per pytest process.

Two logical CPU devices are configured before TensorFlow initialises its
runtime, so MirroredStrategy tests can run on this CPU-only machine. Any test
that needs TensorFlow imports it normally; the configuration below happens
first because pytest imports conftest before collecting test modules.
"""
import gc
import os
import sys

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)


@pytest.fixture(scope='session')
def two_cpu_strategy():
  """The one MirroredStrategy over both logical CPUs that every test shares.

  Each new MirroredStrategy numbers its collective ops from the same keys,
  and TensorFlow caches a collective's shapes per key for the life of the
  process; a second strategy whose tensors differ in shape then aborts every
  later collective. Users run one strategy per process; tests share one.
  """
  return tf.distribute.MirroredStrategy(['/cpu:0', '/cpu:1'])


@pytest.fixture(autouse=True, scope='module')
def _collect_finished_pipelines():
  """Frees each module's finished tf.data iterators before the next module.

  Trainers hold their iterators in reference cycles; left to the final
  collection, each one waits out its autotune thread's sleep and the
  process stalls for tens of seconds at exit.
  """
  yield
  gc.collect()


@pytest.fixture(name='trainers')
def fixture_trainers(monkeypatch):
  """Every Trainer that run_experiment builds, through the real create_trainer."""
  from official_like.core import train_utils  # pylint: disable=g-import-not-at-top
  created = []
  original = train_utils.create_trainer

  def spy(*args, **kwargs):
    created.append(original(*args, **kwargs))
    return created[-1]
  monkeypatch.setattr(train_utils, 'create_trainer', spy)
  return created


def pytest_terminal_summary(terminalreporter):
  """Prints the outcomes and waivers of TFM's own tests whenever a suite of them ran."""
  module = sys.modules.get('tfm_suite')
  if module is not None and module.SUITES:
    terminalreporter.section('TFM conformance')
    for suite in module.SUITES:
      for line in suite.summary_lines():
        terminalreporter.write_line(line)


_EXIT_STATUS = []


def pytest_sessionfinish(session, exitstatus):
  del session
  _EXIT_STATUS.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
  """Exits as soon as pytest has reported, with pytest's status.

  At interpreter shutdown each tf.data iterator still alive waits out its
  autotune thread: after a whole suite that took 1-2 minutes in a fresh
  clone, with nothing left to do. `os._exit` skips only that shutdown.
  """
  del config
  if _EXIT_STATUS:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_EXIT_STATUS[-1])
