"""TFM's small run helpers in `train_utils` against TFM's own (NLP's continuous finetuning calls them)."""
import json
import os
import types

from official.core import train_utils as tfm_train_utils
import pytest
import tensorflow as tf
import tf_keras

import event_files
from official_like.core import train_utils

METRICS = {'accuracy': tf.constant(0.75), 'loss': 0.5, 'steps': tf.constant(3, tf.int64)}


def test_write_json_summary_writes_tfms_file(tmp_path):
  ours, tfm = tmp_path / 'ours', tmp_path / 'tfm'
  ours.mkdir()
  tfm.mkdir()
  train_utils.write_json_summary(str(ours), 40, METRICS)
  tfm_train_utils.write_json_summary(str(tfm), 40, METRICS)
  assert os.listdir(ours) == ['metrics-40.json']
  assert (ours / 'metrics-40.json').read_bytes() == (tfm / 'metrics-40.json').read_bytes()
  assert json.loads((ours / 'metrics-40.json').read_text()) == {
      'accuracy': '0.75', 'loss': '0.5', 'steps': '3'}


def test_write_summary_writes_tfms_scalars(tmp_path):
  for name, module in (('ours', train_utils), ('tfm', tfm_train_utils)):
    writer = tf.summary.create_file_writer(str(tmp_path / name))
    module.write_summary(writer, 40, METRICS)
    writer.close()
  ours = event_files.raw_values(str(tmp_path / 'ours'))
  assert [(step, tag) for step, tag, *_ in ours] == [(40, 'accuracy'), (40, 'loss'), (40, 'steps')]
  assert ours == event_files.raw_values(str(tmp_path / 'tfm'))


def _model_dir(root):
  checkpoint = tf.train.Checkpoint(v=tf.Variable(1.0))
  manager = tf.train.CheckpointManager(checkpoint, str(root), max_to_keep=3)
  for _ in range(2):
    manager.save()
  (root / 'params.yaml').write_text('x: 1\n')
  (root / 'train').mkdir()
  return root


def test_remove_ckpts_leaves_what_tfm_leaves(tmp_path):
  ours, tfm = _model_dir(tmp_path / 'ours'), _model_dir(tmp_path / 'tfm')
  train_utils.remove_ckpts(str(ours))
  tfm_train_utils.remove_ckpts(str(tfm))
  assert sorted(os.listdir(ours)) == sorted(os.listdir(tfm)) == ['params.yaml', 'train']
  train_utils.remove_ckpts(str(ours))  # Nothing left to remove is fine.


def _frozen_model():
  model = tf_keras.Sequential([tf_keras.layers.Dense(4, input_shape=(3,)),
                               tf_keras.layers.BatchNormalization(), tf_keras.layers.Dense(2)])
  model.layers[0].trainable = False
  return model


@pytest.mark.parametrize('trainable_only', [False, True])
def test_try_count_params(trainable_only):
  model = _frozen_model()
  all_params = 3 * 4 + 4 + 4 * 4 + 4 * 2 + 2
  trainable = 4 * 2 + 4 * 2 + 2
  assert train_utils.try_count_params(model, trainable_only) == (
      trainable if trainable_only else all_params)
  if not trainable_only:
    assert tfm_train_utils.try_count_params(model) == all_params
  else:  # TFM counts trainable_variables where it honours the flag (not on Keras models).
    variables = types.SimpleNamespace(trainable_variables=model.trainable_variables)
    assert tfm_train_utils.try_count_params(variables, trainable_only=True) == trainable
  module = tf.Module()
  module.w = tf.Variable(tf.zeros([5, 2]))
  module.frozen = tf.Variable(tf.zeros([3]), trainable=False)
  assert (train_utils.try_count_params(module, trainable_only)
          == tfm_train_utils.try_count_params(module, trainable_only)
          == (10 if trainable_only else 13))


def test_try_count_params_of_an_unbuilt_model_is_none_as_in_tfm():
  model = tf_keras.Sequential([tf_keras.layers.Dense(4)])
  assert train_utils.try_count_params(model) is None
  assert tfm_train_utils.try_count_params(model) is None
