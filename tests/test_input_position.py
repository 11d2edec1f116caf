"""The input as a position: resumes are exact, and cost a few bytes whatever the buffer.

The image test is shaped like a user's vision task: JPEG TFRecords written
here (320 images of 32x32, 4 files), a decode_fn that crops and flips with
the example's own stateless seed, a 10,000-element shuffle buffer (larger
than the dataset: every epoch is one buffer) and checkpoints that fall in
the middle of the second epoch. The resumed run must end with the
uninterrupted run's weights bit for bit, and the checkpoint must hold the
input in a few bytes (the tf.data iterator would hold the buffer).
"""
import dataclasses
import logging
import os

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import experiments  # noqa: F401  (registers digits_mlp)
from experiments import datasets
from experiments import write_tfrecords
from official_like.core import base_task
from official_like.core import config_definitions as cfg
from official_like.core import exp_factory
from official_like.core import input_reader
from official_like.core import task_factory
from official_like.core import train_lib
from official_like.core import train_utils
from official_like.modeling import optimization
from official_like.run import input_position
from official_like.run import resumable_input
from test_exact_resume import assert_bitwise_equal
from test_exact_resume import copy_checkpoint
from test_input_reader import _params as data_params

IMAGES, SIZE, CROP = 320, 32, 28
STEPS, RESUME_FROM, BATCH = 50, 30, 16  # Step 30 = example 160 of epoch 1.


def _write_jpegs(directory):
  pixels = tf.random.stateless_uniform([IMAGES, SIZE, SIZE, 3], seed=[4, 2], maxval=256,
                                       dtype=tf.int32)
  os.makedirs(directory)
  for shard in range(4):
    with tf.io.TFRecordWriter(os.path.join(directory, f'train-{shard}.tfrecord')) as w:
      for i in range(shard, IMAGES, 4):
        jpeg = tf.io.encode_jpeg(tf.cast(pixels[i], tf.uint8)).numpy()
        w.write(tf.train.Example(features=tf.train.Features(feature={
            'image/encoded': tf.train.Feature(bytes_list=tf.train.BytesList(value=[jpeg])),
            'image/class/label': tf.train.Feature(int64_list=tf.train.Int64List(
                value=[i % 10]))})).SerializeToString())
  return os.path.join(directory, 'train-*.tfrecord')


def decode(record, seed):
  """TFM-style decode with stateless crop and flip, seeded per example."""
  features = tf.io.parse_single_example(record, {
      'image/encoded': tf.io.FixedLenFeature([], tf.string),
      'image/class/label': tf.io.FixedLenFeature([], tf.int64)})
  image = tf.io.decode_jpeg(features['image/encoded'], channels=3)
  image = tf.image.stateless_random_crop(image, [CROP, CROP, 3], seed=seed)
  image = tf.image.stateless_random_flip_left_right(image, seed=seed[::-1])
  return tf.cast(image, tf.float32) / 255.0, tf.cast(features['image/class/label'], tf.int32)


def stateful_decode(record):
  """The same with the stateful ops most vision pipelines use."""
  image, label = decode(record, tf.constant([0, 0], tf.int64))
  return tf.image.random_flip_left_right(image), label


@dataclasses.dataclass
class JpegConfig(cfg.TaskConfig):
  filters: int = 4
  stateful: bool = False


@task_factory.register_task_cls(JpegConfig)
class JpegTask(base_task.Task):

  def build_model(self):
    return tf_keras.Sequential([
        tf_keras.layers.Conv2D(self.task_config.filters, 3, activation='relu'),
        tf_keras.layers.GlobalAveragePooling2D(), tf_keras.layers.Dropout(0.1),
        tf_keras.layers.Dense(10)])

  def build_inputs(self, params, input_context=None):
    return input_reader.read(params, input_context=input_context,
                             decode_fn=stateful_decode if self.task_config.stateful else decode)

  def build_losses(self, labels, model_outputs, aux_losses=None):
    return tf.reduce_mean(tf_keras.losses.sparse_categorical_crossentropy(
        labels, model_outputs, from_logits=True))


def _image_params(input_path):
  return cfg.ExperimentConfig(
      task=JpegConfig(train_data=cfg.DataConfig(
          input_path=input_path, global_batch_size=BATCH, is_training=True,
          shuffle_buffer_size=10000)),
      trainer=cfg.TrainerConfig(
          train_steps=STEPS, steps_per_loop=10, summary_interval=10, checkpoint_interval=10,
          max_to_keep=10, validation_interval=STEPS,
          optimizer_config=optimization.OptimizationConfig({
              'optimizer': {'type': 'sgd'},
              'learning_rate': {'type': 'constant', 'constant': {'learning_rate': 0.1}}})),
      runtime=cfg.RuntimeConfig(distribution_strategy='one_device', seed=3))


def _train(params, model_dir):
  strategy = tf.distribute.OneDeviceStrategy('/cpu:0')
  with strategy.scope():
    task = task_factory.get_task(params.task, logging_dir=str(model_dir))
  train_lib.run_experiment(strategy, task, 'train', params, str(model_dir))
  return tf.train.latest_checkpoint(str(model_dir))


@pytest.fixture(scope='module', name='jpegs')
def fixture_jpegs(tmp_path_factory):
  return _write_jpegs(str(tmp_path_factory.mktemp('jpegs') / 'train'))


def test_jpeg_pipeline_resumes_mid_epoch_bit_for_bit_from_a_few_bytes(jpegs, tmp_path,
                                                                      caplog):
  params = _image_params(jpegs)
  final = _train(params, tmp_path / 'reference')
  copy_checkpoint(str(tmp_path / 'reference'), RESUME_FROM, str(tmp_path / 'resumed'))
  caplog.clear()
  caplog.set_level(logging.INFO)
  assert_bitwise_equal(_train(params, tmp_path / 'resumed'), final)
  resumed = [r.getMessage() for r in caplog.records if 'Input resumes' in r.getMessage()]
  assert len(resumed) == 1, resumed
  assert resumed[0].startswith('Input resumes at example 160 of epoch 1 (320 examples an '
                               'epoch, counted in '), resumed

  reader = tf.train.load_checkpoint(final)
  keys = [key for key, _ in tf.train.list_variables(final)]
  assert not [key for key in keys if 'iterator' in key.lower()]
  input_bytes = sum(reader.get_tensor(key).nbytes for key in keys
                    if key.startswith('train_input/'))
  assert 0 < input_bytes <= 64, input_bytes  # examples, seed, pipelines: 3 int64.
  assert reader.get_tensor('train_input/examples/.ATTRIBUTES/VARIABLE_VALUE') == STEPS * BATCH
  data = sum(os.path.getsize(os.path.join(tmp_path, 'reference', name))
             for name in os.listdir(tmp_path / 'reference')
             if name.startswith(f'ckpt-{STEPS}.'))
  assert data < 16 * 1024, data  # Weights and slots of a 410-parameter net, and the above.


def test_stateful_augmentation_keeps_the_position_and_says_so_once(jpegs, tmp_path, caplog):
  params = _image_params(jpegs)
  params.override({'task': {'stateful': True}, 'trainer': {'train_steps': 20}})
  final = _train(params, tmp_path / 'model')
  lines = [r.getMessage() for r in caplog.records if 'resumes at its position' in
           r.getMessage()]
  assert len(lines) == 1, lines
  assert 'RandomUniform in its pipeline is stateful' in lines[0], lines[0]
  assert "decode_fn that has a 'seed' parameter" in lines[0], lines[0]
  reader = tf.train.load_checkpoint(final)
  assert reader.get_tensor('train_input/examples/.ATTRIBUTES/VARIABLE_VALUE') == 20 * BATCH


@pytest.fixture(scope='module', name='digit_files')
def fixture_digit_files(tmp_path_factory):
  return write_tfrecords.write('digits', str(tmp_path_factory.mktemp('digits')), 3)['train']


@pytest.mark.parametrize('source', ['arrays', 'files', 'files, cache'])
@pytest.mark.parametrize('start', [0, 37, 1437 * 2 + 5])
def test_stream_from_a_position_is_the_tail_of_the_stream(digit_files, source, start):
  params = data_params(is_training=True, global_batch_size=1, shuffle_buffer_size=300,
                       input_path='' if source == 'arrays' else digit_files,
                       cache='cache' in source)
  kwargs = dict(arrays=datasets.load('digits', 'train'), decode_fn=datasets.decode_fn('digits'))

  def examples(begin, count):
    with input_position.building(begin):
      dataset = input_reader.read(params, **kwargs)
    return [(x.tobytes(), int(y[0])) for x, y in dataset.take(count).as_numpy_iterator()]
  whole = examples(0, start + 40)
  assert examples(start, 40) == whole[start:]


def test_replicas_get_tf_distribute_s_own_input_on_their_devices(two_cpu_strategy,
                                                                 monkeypatch):
  """On accelerators the input is tf.distribute's, prefetched to each replica's device.

  Here the two logical CPUs stand in for two GPUs.
  """
  monkeypatch.setattr(resumable_input, 'on_accelerators', lambda strategy: True)
  params = exp_factory.get_exp_config('digits_mlp')
  with two_cpu_strategy.scope():
    task = task_factory.get_task(params.task)
    trainer = train_utils.create_trainer(params, task, train=True, evaluate=False)
  iterator = iter(trainer.train_dataset)
  assert isinstance(iterator, resumable_input.CountingIterator)
  assert type(iterator._iterator).__name__ == 'DistributedIterator'  # pylint: disable=protected-access
  images, _ = next(iterator)
  devices = [x.device for x in two_cpu_strategy.experimental_local_results(images)]
  assert [d.rsplit('/', 1)[-1] for d in devices] == ['device:CPU:0', 'device:CPU:1']
  assert int(trainer.resume_checkpoint.train_input.examples.numpy()) == 64


def test_on_cpus_the_position_is_kept_over_one_host_iterator():
  """No tf.distribute prefetch thread on CPUs: it costs 10-20% of a small model's steps/s."""
  params = exp_factory.get_exp_config('digits_mlp')
  strategy = tf.distribute.OneDeviceStrategy('/cpu:0')
  with strategy.scope():
    trainer = train_utils.create_trainer(params, task_factory.get_task(params.task),
                                         train=True, evaluate=False)
  iterator = iter(trainer.train_dataset)
  assert isinstance(iterator._iterator, resumable_input.HostIterator)  # pylint: disable=protected-access
  next(iterator)
  assert int(trainer.resume_checkpoint.train_input.examples.numpy()) == 64
