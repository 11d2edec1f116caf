"""`runtime.seed` reaches the data: a run's input pipelines get it when their config has none.

The bundled experiments set `train_data.seed` themselves, so a run of them
never shows whether `runtime.seed` alone seeds the input; these runs unset it.
"""
import numpy as np
import tensorflow as tf

import experiments  # noqa: F401  (registers the experiments)
from official_like.core import exp_factory
from official_like.core import task_factory
from official_like.core import train_lib


def _run(model_dir, runtime_seed, data_seed=None):
  """The seeds `build_inputs` was given, and the first training batch's labels."""
  params = exp_factory.get_exp_config('digits_mlp')
  params.override({
      'runtime': {'seed': runtime_seed},
      'task': {'train_data': {'seed': data_seed}, 'validation_data': {'seed': data_seed}},
      'trainer': {'train_steps': 2, 'steps_per_loop': 2, 'summary_interval': 2,
                  'checkpoint_interval': 2, 'validation_interval': 2, 'validation_steps': 1}})
  seen = {}
  strategy = tf.distribute.OneDeviceStrategy('/cpu:0')
  with strategy.scope():
    task = task_factory.get_task(params.task, logging_dir=str(model_dir))
  build_inputs = task.build_inputs

  def recording(data, input_context=None):
    dataset = build_inputs(data, input_context)
    if data.is_training:
      seen['labels'] = next(iter(dataset))[1].numpy()
    seen['train' if data.is_training else 'validation'] = data.seed
    return dataset

  task.build_inputs = recording
  train_lib.run_experiment(strategy, task, 'train_and_eval', params, str(model_dir))
  return seen


def test_runtime_seed_seeds_the_input_when_the_data_config_has_none(tmp_path):
  first = _run(tmp_path / 'a', runtime_seed=5)
  assert (first['train'], first['validation']) == (5, 5)
  again = _run(tmp_path / 'b', runtime_seed=5)
  np.testing.assert_array_equal(first['labels'], again['labels'])
  other = _run(tmp_path / 'c', runtime_seed=6)
  assert other['train'] == 6
  assert not np.array_equal(first['labels'], other['labels'])


def test_a_data_seed_of_its_own_wins(tmp_path):
  seen = _run(tmp_path, runtime_seed=5, data_seed=3)
  assert (seen['train'], seen['validation']) == (3, 3)


def test_no_seed_anywhere_stays_unseeded(tmp_path):
  assert _run(tmp_path, runtime_seed=None)['train'] is None
