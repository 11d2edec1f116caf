"""The HParams dashboard's data, read back from the event files of a real run.

Two readings: the raw plugin data (`HParamsPluginData` in the summary
metadata of model_dir/hparams), and what TensorBoard's own HParams backend
makes of the logdir, i.e. the rows and metric columns the dashboard shows,
for `--logdir model_dir` and for a parent directory holding the run.
"""
import glob
import os

import pytest
import tensorflow as tf
from tensorboard import context
from tensorboard.backend.event_processing import data_provider
from tensorboard.backend.event_processing import plugin_event_multiplexer
from tensorboard.plugins import base_plugin
from tensorboard.plugins.hparams import api_pb2
from tensorboard.plugins.hparams import backend_context
from tensorboard.plugins.hparams import list_session_groups
from tensorboard.plugins.hparams import metadata
from tensorboard.plugins.hparams import plugin_data_pb2

import experiments  # noqa: F401  (registers the experiments)
from official_like.core import exp_factory
from official_like.core import task_factory
from official_like.core import train_lib
from official_like.run import hparams_summary

STEPS = 80


def run(model_dir, train_steps=STEPS):
  params = exp_factory.get_exp_config('digits_mlp')
  params.override({'trainer': {
      'train_steps': train_steps, 'steps_per_loop': 20, 'summary_interval': 20,
      'validation_interval': 40,
      'optimizer_config': {'warmup': {'linear': {'warmup_steps': 20}},
                           'learning_rate': {'cosine': {'decay_steps': -1}}}}})
  with tf.distribute.get_strategy().scope():
    task = task_factory.get_task(params.task)
  logs = {}
  train_lib.run_experiment(tf.distribute.get_strategy(), task, 'train_and_eval', params,
                           model_dir, eval_actions=[logs.update])
  return {k: float(v) for k, v in logs.items()}


@pytest.fixture(scope='module', name='finished')
def fixture_finished(tmp_path_factory):
  model_dir = str(tmp_path_factory.mktemp('hparams') / 'run1')
  return model_dir, run(model_dir)


def session_start_infos(directory):
  """Every HParams session start written into `directory`'s event files."""
  infos = []
  for path in glob.glob(os.path.join(directory, 'events.out.tfevents.*')):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        plugin = value.metadata.plugin_data
        if plugin.plugin_name == metadata.PLUGIN_NAME:
          data = plugin_data_pb2.HParamsPluginData.FromString(plugin.content)
          if data.HasField('session_start_info'):
            infos.append(data.session_start_info)
  return infos


def dashboard_rows(logdir):
  """{session: (hparams, {metric tag: last value})} as TensorBoard's HParams backend sees it."""
  multiplexer = plugin_event_multiplexer.EventMultiplexer()
  multiplexer.AddRunsFromDirectory(logdir)
  multiplexer.Reload()
  tb_context = base_plugin.TBContext(
      data_provider=data_provider.MultiplexerDataProvider(multiplexer, logdir),
      logdir=logdir, multiplexer=multiplexer)
  request = api_pb2.ListSessionGroupsRequest(
      slice_size=100, allowed_statuses=[api_pb2.STATUS_UNKNOWN, api_pb2.STATUS_SUCCESS,
                                        api_pb2.STATUS_RUNNING, api_pb2.STATUS_FAILURE])
  response = list_session_groups.Handler(
      context.RequestContext(), backend_context.Context(tb_context), '', request).run()
  rows = {}
  for group in response.session_groups:
    hparams = {k: getattr(v, v.WhichOneof('kind')) for k, v in group.hparams.items()}
    rows[group.sessions[0].name] = (
        hparams, {m.name.tag: m.value for m in group.sessions[0].metric_values})
  return rows


def test_session_start_holds_the_key_hyperparameters(finished):
  model_dir, _ = finished
  [info] = session_start_infos(os.path.join(model_dir, hparams_summary.RUN))
  values = {k: getattr(v, v.WhichOneof('kind')) for k, v in info.hparams.items()}
  assert {k: values[k] for k in (
      'optimizer', 'learning_rate_schedule', 'warmup', 'warmup_steps', 'global_batch_size',
      'train_steps', 'momentum', 'model', 'learning_rate_scaling', 'ema')} == {
          'optimizer': 'sgd', 'learning_rate_schedule': 'cosine', 'warmup': 'linear',
          'warmup_steps': 20, 'global_batch_size': 64, 'train_steps': STEPS,
          'momentum': 0.9, 'model': 'mlp', 'learning_rate_scaling': 'none', 'ema': False}
  # The peak of linear warmup into cosine decay over 80 steps: lr(20).
  assert values['peak_learning_rate'] == pytest.approx(0.1 * 0.5 * (1 + 0.7071067811865476))
  assert info.group_name == os.path.abspath(model_dir)


@pytest.mark.parametrize('parent', [False, True], ids=['logdir=model_dir', 'logdir=parent'])
def test_dashboard_shows_the_final_metrics(finished, parent):
  model_dir, final_eval = finished
  logdir = os.path.dirname(model_dir) if parent else model_dir
  rows = dashboard_rows(logdir)
  session = os.path.relpath(os.path.join(model_dir, hparams_summary.RUN), logdir)
  hparams, metrics = rows[session]
  assert hparams['train_steps'] == STEPS
  assert metrics['final/validation_accuracy'] == pytest.approx(final_eval['accuracy'])
  assert metrics['final/validation_loss'] == pytest.approx(final_eval['validation_loss'])
  assert 'final/train_loss' in metrics and 'final/train_accuracy' in metrics
  # The HParams run holds only its own tags: no chart of another run's gets a twin.
  assert all(tag.startswith('final/') for tag in metrics), metrics
  assert 'learning_rate' not in ' '.join(metrics)


def test_the_hparams_run_holds_only_final_values(finished):
  """Written at each evaluation and at the last step, not at every summary."""
  model_dir, _ = finished
  steps = set()
  for path in glob.glob(os.path.join(model_dir, hparams_summary.RUN, 'events.out.tfevents.*')):
    for event in tf.compat.v1.train.summary_iterator(path):
      if any(v.tag.startswith('final/') for v in event.summary.value):
        steps.add(event.step)
  assert steps == {40, 80}, steps


def test_one_session_per_model_dir(tmp_path):
  model_dir = str(tmp_path / 'run')
  run(model_dir, train_steps=40)
  run(model_dir, train_steps=60)  # resumed: the metrics go on, the session is not repeated
  [info] = session_start_infos(os.path.join(model_dir, hparams_summary.RUN))
  assert info.hparams['train_steps'].number_value == 40
  _, metrics = dashboard_rows(model_dir)[hparams_summary.RUN]
  assert metrics  # the last values, from the resumed part too
