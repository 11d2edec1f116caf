"""Seeded runs are reproducible, and a resume from any checkpoint is exact (in process).

A run of `digits_mlp` (dropout 0.1, shuffled input, `runtime.seed` set)
keeps every checkpoint. A second model_dir receives only one mid-run
checkpoint, as a run killed after writing it would leave, and training
resumes there: its final checkpoint must equal the uninterrupted run's bit
for bit. Checkpoints fall mid-epoch (22 batches of 64 per epoch), so the
input's position (examples taken: epoch and offset, `train_input/`) and the
dropout generators have to come back exactly. Real SIGKILLs of
`trainer_main.py` are in test_kill_resume.py.
"""
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from experiments import write_tfrecords
from official_like.core import exp_factory
from official_like.core import task_factory
from official_like.core import train_lib

STEPS = 60
RESUME_FROM = 30
SKIPPED = ('_CHECKPOINTABLE_OBJECT_GRAPH', 'save_counter/', 'train_iterator/')


def seeded_params(seed=5, **task):
  params = exp_factory.get_exp_config('digits_mlp')
  params.override({
      'runtime': {'seed': seed},
      'task': task,
      'trainer': {'train_steps': STEPS, 'steps_per_loop': 10, 'summary_interval': 10,
                  'checkpoint_interval': 10, 'max_to_keep': 10,
                  'validation_interval': STEPS}})
  return params


def train(params, model_dir, strategy=None):
  strategy = strategy or tf.distribute.OneDeviceStrategy('/cpu:0')
  with strategy.scope():
    task = task_factory.get_task(params.task, logging_dir=str(model_dir))
  train_lib.run_experiment(strategy, task, 'train', params, str(model_dir))
  return tf.train.latest_checkpoint(str(model_dir))


def state(path):
  """Every saved tensor but the bookkeeping that differs between runs."""
  reader = tf.train.load_checkpoint(path)
  return {key: reader.get_tensor(key) for key, _ in tf.train.list_variables(path)
          if not key.startswith(SKIPPED)}


def assert_bitwise_equal(path_a, path_b):
  a, b = state(path_a), state(path_b)
  assert sorted(a) == sorted(b)
  differing = [key for key in a if not np.array_equal(a[key], b[key])]
  assert not differing, differing


def copy_checkpoint(source_dir, step, target_dir):
  """target_dir as a run killed right after writing ckpt-<step> leaves it."""
  os.makedirs(target_dir)
  for name in os.listdir(source_dir):
    if name.startswith(f'ckpt-{step}.'):
      shutil.copy(os.path.join(source_dir, name), target_dir)
  with open(os.path.join(target_dir, 'checkpoint'), 'w') as f:
    f.write(f'model_checkpoint_path: "ckpt-{step}"\n'
            f'all_model_checkpoint_paths: "ckpt-{step}"\n')


def resumed_run(params, reference_dir, tmp_path, strategy=None):
  resumed = tmp_path / 'resumed'
  copy_checkpoint(str(reference_dir), RESUME_FROM, str(resumed))
  return train(params, resumed, strategy)


@pytest.fixture(scope='module', name='reference')
def fixture_reference(tmp_path_factory):
  model_dir = tmp_path_factory.mktemp('reference')
  return model_dir, train(seeded_params(), model_dir)


def test_checkpoint_holds_input_position_and_dropout_generators(reference):
  _, final = reference
  keys = [key for key, _ in tf.train.list_variables(final)]
  reader = tf.train.load_checkpoint(final)
  position = {key.split('/')[1]: reader.get_tensor(key) for key in keys
              if key.startswith('train_input/')}
  # 60 steps of 64 examples; digits' data seed; one input pipeline. Nothing else.
  assert position == {'examples': STEPS * 64, 'seed': 1, 'pipelines': 1}
  assert not [key for key in keys if 'iterator' in key.lower()]
  # One generator per Dropout layer of the MLP (hidden sizes [128, 64]).
  assert sorted(k for k in keys if k.startswith('random_generators/')) == [
      'random_generators/0/_state_var/.ATTRIBUTES/VARIABLE_VALUE',
      'random_generators/1/_state_var/.ATTRIBUTES/VARIABLE_VALUE']


def test_same_seed_same_weights_other_seed_other_weights(reference, tmp_path):
  _, final = reference
  assert_bitwise_equal(train(seeded_params(), tmp_path / 'again'), final)
  other = state(train(seeded_params(seed=6), tmp_path / 'other'))
  kernel = 'model/layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE'
  assert not np.array_equal(other[kernel], state(final)[kernel])


def test_resume_from_mid_run_checkpoint_is_exact(reference, tmp_path):
  model_dir, final = reference
  assert_bitwise_equal(resumed_run(seeded_params(), model_dir, tmp_path), final)


def test_resume_is_exact_with_tfrecord_input(tmp_path):
  globs = write_tfrecords.write('digits', str(tmp_path / 'records'), 3)
  params = seeded_params(train_data={'input_path': globs['train']})
  final = train(params, tmp_path / 'reference')
  assert_bitwise_equal(resumed_run(params, tmp_path / 'reference', tmp_path), final)


def test_resume_is_exact_on_two_mirrored_replicas(tmp_path, two_cpu_strategy):
  params = seeded_params()
  final = train(params, tmp_path / 'reference', two_cpu_strategy)
  assert_bitwise_equal(
      resumed_run(params, tmp_path / 'reference', tmp_path, two_cpu_strategy), final)
