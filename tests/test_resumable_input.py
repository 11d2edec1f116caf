"""Inputs that cannot be resumed exactly still train, resume and finish, as under TFM.

A user's experiment (written to a temporary file, run by `trainer_main.py`)
builds its input by hand with what vision pipelines use: the stateful
`tf.image.random_flip_left_right`, TFM's own `preprocess_ops.random_crop_image`,
an unseeded `shuffle`. Each run is SIGKILLed after its first checkpoint and
rerun: it must end at the last step, with one line at each start naming the
op to replace (none for the shuffle, whose iterator is saved exactly).
In process: shuffle buffers that would bloat every checkpoint are left out
with one line, and a checkpoint of the previous layout (the whole iterator)
restores into a run that keeps a position.
"""
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import tensorflow as tf

import experiments  # noqa: F401  (registers digits_mlp)
from deadlines import SUBPROCESS_TIMEOUT
from deadlines import finish
from official_like.core import exp_factory
from official_like.core import task_factory
from official_like.core import train_lib
from official_like.run import input_checks

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS = 300
UNSAVEABLE = 'The training input cannot be saved in checkpoints'
USER_MODULE = textwrap.dedent('''
    import dataclasses
    import tensorflow as tf, tf_keras
    from official.vision.ops import preprocess_ops
    from official_like.core import base_task, config_definitions as cfg, exp_factory, task_factory
    from official_like.modeling import optimization

    @dataclasses.dataclass
    class AugConfig(cfg.TaskConfig):
      pipeline: str = 'flip'

    @task_factory.register_task_cls(AugConfig)
    class AugTask(base_task.Task):
      def build_model(self):
        return tf_keras.Sequential([tf_keras.layers.Flatten(), tf_keras.layers.Dense(4)])

      def build_inputs(self, params, input_context=None):
        x = tf.random.stateless_uniform([128, 16, 16, 3], seed=[1, 2])
        y = tf.range(128) % 4
        ds = tf.data.Dataset.from_tensor_slices((x, y))
        kind = self.task_config.pipeline
        if kind == 'flip':
          ds = ds.map(lambda x, y: (tf.image.random_flip_left_right(x), y))
        if kind == 'tfm_crop':
          ds = ds.map(lambda x, y: (tf.reshape(tf.image.resize(
              preprocess_ops.random_crop_image(x), [16, 16]), [16, 16, 3]), y))
        ds = ds.shuffle(64) if kind == 'shuffle' else ds.shuffle(64, seed=3)
        return ds.repeat().batch(params.global_batch_size).prefetch(2)

      def build_losses(self, labels, model_outputs, aux_losses=None):
        return tf.reduce_mean(tf_keras.losses.sparse_categorical_crossentropy(
            labels, model_outputs, from_logits=True))

    @exp_factory.register_config_factory('aug_toy')
    def aug_toy():
      return cfg.ExperimentConfig(
          task=AugConfig(train_data=cfg.DataConfig(global_batch_size=16, is_training=True)),
          trainer=cfg.TrainerConfig(
              train_steps=STEPS, steps_per_loop=10, summary_interval=10,
              checkpoint_interval=10, validation_interval=STEPS,
              optimizer_config=optimization.OptimizationConfig({
                  'optimizer': {'type': 'sgd'},
                  'learning_rate': {'type': 'constant',
                                    'constant': {'learning_rate': 0.01}}})),
          runtime=cfg.RuntimeConfig(distribution_strategy='one_device'))
''').replace('STEPS', str(STEPS))


def _command(module, model_dir, pipeline):
  return [sys.executable, 'trainer_main.py', f'--import={module}', '--experiment=aug_toy',
          '--mode=train', f'--model_dir={model_dir}',
          f'--params_override=task.pipeline={pipeline}']


def _start(cmd, log):
  env = {k: v for k, v in os.environ.items() if k != 'TF_CONFIG'}
  with open(f'{log}.out', 'w') as out, open(f'{log}.err', 'w') as err:
    return subprocess.Popen(cmd, cwd=REPO, env=dict(env, TF_CPP_MIN_LOG_LEVEL='2'),
                            stdout=out, stderr=err)


def _latest_step(model_dir):
  latest = tf.train.latest_checkpoint(str(model_dir))
  return int(latest.rsplit('-', 1)[1]) if latest else 0


def _keys(model_dir):
  return [k for k, _ in tf.train.list_variables(tf.train.latest_checkpoint(str(model_dir)))]


@pytest.mark.parametrize('pipeline, op', [
    ('flip', 'RandomUniform'), ('tfm_crop', 'SampleDistortedBoundingBoxV2'),
    ('shuffle', None)])
def test_hand_written_pipeline_killed_and_rerun_trains_to_the_end(tmp_path, pipeline, op):
  module = tmp_path / 'aug_toy.py'
  module.write_text(USER_MODULE)
  model_dir = tmp_path / 'model'
  proc = _start(_command(module, model_dir, pipeline), tmp_path / 'killed')
  deadline = time.monotonic() + SUBPROCESS_TIMEOUT
  while proc.poll() is None and not _latest_step(model_dir) and time.monotonic() < deadline:
    time.sleep(0.005)
  assert proc.poll() is None, 'the run ended before the kill'
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  killed_at = _latest_step(model_dir)
  assert 0 < killed_at < STEPS
  code, err = finish(_start(_command(module, model_dir, pipeline), tmp_path / 'rerun'),
                     tmp_path / 'rerun.err')
  assert code == 0, err[-3000:]
  assert 'Traceback' not in err
  assert _latest_step(model_dir) == STEPS
  first_err = (tmp_path / 'killed.err').read_text()
  for log in (first_err, err):
    if op is None:
      assert UNSAVEABLE not in log
    else:
      (line,) = [l for l in log.splitlines() if UNSAVEABLE in l]
      assert f'uses the stateful {op}.' in line and 'stateless' in line, line
  iterator_saved = any(k.startswith('train_iterator/') for k in _keys(model_dir))
  assert iterator_saved == (op is None)  # The unseeded shuffle resumes exactly.


def _digits_params(steps):
  params = exp_factory.get_exp_config('digits_mlp')
  params.override({'trainer': {'train_steps': steps, 'steps_per_loop': 10,
                               'checkpoint_interval': 10, 'validation_interval': steps}})
  return params


def _train(params, model_dir, build_inputs=None):
  strategy = tf.distribute.OneDeviceStrategy('/cpu:0')
  with strategy.scope():
    task = task_factory.get_task(params.task, logging_dir=str(model_dir))
  if build_inputs:
    task.build_inputs = build_inputs
  train_lib.run_experiment(strategy, task, 'train', params, str(model_dir))


def _hand_written(buffer):
  x = np.random.RandomState(0).rand(256, 8, 8, 1).astype(np.float32)
  y = np.arange(256, dtype=np.int32) % 10

  def build_inputs(params, input_context=None):
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    return ds.shuffle(buffer, seed=1).repeat().batch(16)
  return build_inputs


def test_big_shuffle_buffers_are_left_out_with_one_line(tmp_path, monkeypatch, caplog):
  monkeypatch.setattr(input_checks, 'STATE_LIMIT_BYTES', 2**20)
  build = _hand_written(buffer=10000)  # 10,000 x 260 B ~ 2.5 MB estimated.
  assert input_checks.shuffle_state_bytes(build(_digits_params(1).task.train_data)) == (
      10000 * 8 * 8 * 4 + 10000 * 4)
  _train(_digits_params(20), tmp_path / 'big', build)
  lines = [r.getMessage() for r in caplog.records if 'shuffle buffers would add' in
           r.getMessage()]
  assert len(lines) == 1 and '2 MB to every checkpoint' in lines[0], lines
  assert not any('iterator' in k or k.startswith('train_input/') for k in _keys(
      tmp_path / 'big'))


def test_previous_layout_checkpoint_restores_and_the_input_restarts(tmp_path, caplog):
  model_dir = tmp_path / 'model'
  _train(_digits_params(20), model_dir, _hand_written(buffer=100))
  assert 'train_iterator/.ATTRIBUTES/ITERATOR_STATE' in _keys(model_dir)
  _train(_digits_params(40), model_dir)  # digits_mlp's own input: a position.
  lines = [r.getMessage() for r in caplog.records if 'holds no input position' in
           r.getMessage()]
  assert len(lines) == 1 and 'at step 20' in lines[0], lines
  assert _latest_step(model_dir) == 40
  reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(model_dir)))
  assert reader.get_tensor('train_input/examples/.ATTRIBUTES/VARIABLE_VALUE') == 20 * 64


def test_rebatched_reader_input_trains_without_a_position_with_one_line(tmp_path, caplog):
  params = _digits_params(20)
  with tf.distribute.OneDeviceStrategy('/cpu:0').scope():
    read_batches = task_factory.get_task(params.task).build_inputs
  _train(params, tmp_path / 'rebatched',
         lambda data, input_context=None: read_batches(data, input_context).unbatch().batch(32))
  lines = [r.getMessage() for r in caplog.records if 'changes the batches of' in
           r.getMessage()]
  assert len(lines) == 1, lines
  assert _latest_step(tmp_path / 'rebatched') == 20
  assert not any('iterator' in k or k.startswith('train_input/') for k in _keys(
      tmp_path / 'rebatched'))
