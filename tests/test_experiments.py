"""The registered experiments train to useful models, from arrays and TFRecords.

Runs are in-process through `train_lib.run_experiment`, the call
`trainer_main.py` makes, to spare a TensorFlow import per run.
"""
import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import experiments  # pylint: disable=unused-import
from experiments import datasets
from experiments import write_tfrecords
from official_like.core import exp_factory
from official_like.core import task_factory
from official_like.core import train_lib
from official_like.modeling.hyperparams import ConfigError


def run(params, model_dir, mode='train_and_eval'):
  """Final eval logs of `mode` as floats."""
  strategy = tf.distribute.OneDeviceStrategy('/cpu:0')
  with strategy.scope():
    task = task_factory.get_task(params.task)
  logs = {}
  train_lib.run_experiment(strategy, task, mode, params, str(model_dir),
                           eval_actions=[logs.update])
  return {key: float(value) for key, value in logs.items()}


def test_digits_mlp_default_config_reaches_95_percent(tmp_path):
  params = exp_factory.get_exp_config('digits_mlp')
  assert params.trainer.train_steps == 600 and params.task.model.type == 'mlp'
  logs = run(params, tmp_path)
  assert logs['accuracy'] >= 0.95, logs
  assert tf.train.latest_checkpoint(str(tmp_path)).endswith('ckpt-600')


def test_digits_cnn_trains_well_above_chance(tmp_path):
  params = exp_factory.get_exp_config('digits_cnn')
  assert params.task.model.type == 'cnn'
  params.override({'trainer': {'train_steps': 150, 'steps_per_loop': 50,
                               'validation_interval': 150}})
  logs = run(params, tmp_path)
  assert logs['accuracy'] >= 0.6, logs  # Chance is 0.1.
  model = task_factory.get_task(params.task).build_model()
  assert any(isinstance(layer, tf_keras.layers.Conv2D) for layer in model.layers)


def test_diabetes_regression_beats_predicting_the_mean(tmp_path):
  params = exp_factory.get_exp_config('diabetes_regression')
  logs = run(params, tmp_path)
  # The best constant is the training mean, 0 in standardised units.
  _, labels = datasets.load('diabetes', 'validation')
  baseline = float(np.sqrt(np.mean(np.square(labels))))
  assert 0.8 < baseline < 1.1
  assert logs['rmse'] < 0.95 * baseline, (logs, baseline)
  assert np.isclose(logs['validation_loss'], logs['rmse'] ** 2, rtol=1e-3)


@pytest.fixture(scope='module')
def digits_tfrecords(tmp_path_factory):
  return write_tfrecords.write('digits', str(tmp_path_factory.mktemp('records')), 2)


def test_tfrecord_input_trains_and_evaluates_like_arrays(digits_tfrecords, tmp_path):
  def config(input_paths):
    params = exp_factory.get_exp_config('digits_mlp')
    params.override({
        'trainer': {'train_steps': 150, 'steps_per_loop': 50,
                    'validation_interval': 150},
        'task': {'train_data': {'input_path': input_paths['train']},
                 'validation_data': {'input_path': input_paths['validation']}}})
    return params

  on_records = config(digits_tfrecords)
  logs = run(on_records, tmp_path)
  assert logs['accuracy'] >= 0.8, logs

  from_records = run(on_records, tmp_path, mode='eval')
  from_arrays = run(config({'train': '', 'validation': ''}), tmp_path, mode='eval')
  assert tf.train.latest_checkpoint(str(tmp_path)).endswith('ckpt-150')
  assert from_records.keys() == from_arrays.keys() == {'accuracy', 'validation_loss', 'best_accuracy'}
  assert from_records['accuracy'] == from_arrays['accuracy']
  assert np.isclose(from_records['validation_loss'], from_arrays['validation_loss'],
                    rtol=1e-5)
  # The eval restored the trained weights rather than starting afresh.
  assert from_records['accuracy'] == pytest.approx(logs['accuracy'])


@pytest.mark.parametrize('override, key', [
    ({'train_data': {'input_path': '/nonexistent/train-*.tfrecord'}},
     'task.train_data.input_path'),
    ({'validation_data': {'global_batch_size': 0}},
     'task.validation_data.global_batch_size'),
])
def test_unusable_data_settings_fail_validation(override, key):
  """Caught by validate(), i.e. before trainer_main writes anything."""
  params = exp_factory.get_exp_config('digits_mlp')
  params.override({'task': override})
  with pytest.raises(ConfigError) as error:
    params.validate()
  assert str(error.value).startswith(f'{key}: ')
