"""Every field of the core configs either takes effect or is refused when set.

`SUPPORTED` names, for each field, the source file that reads it; the test
checks that file really reads it. `UNSUPPORTED` (the config classes' own
tables) must be refused with a message naming the field. Together they must
cover every field, and every TFM field. Behaviour of the cheap fields added
for TFM parity (run_eagerly, enable_xla, tf.data options, private threads)
is checked directly.
"""
import dataclasses
import importlib.util
import os
import re

import official.core.config_definitions as tfm_cfg
import orbit
import pytest
import tensorflow as tf

from official_like.core import base_trainer
from official_like.core import config_definitions as cfg
from official_like.core import input_reader
from official_like.modeling.hyperparams import ConfigError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
READER = 'official_like/core/input_reader.py'
STAGES = 'official_like/run/input_stages.py'  # What both of READER's readers share.
TRAINER = 'official_like/core/base_trainer.py'
RUNNER = 'official_like/core/train_lib.py'
MAIN = 'trainer_main.py'
SUPPORTED = {
    cfg.DataConfig: {
        **dict.fromkeys(
            ['input_path', 'tfds_name', 'tfds_split', 'global_batch_size', 'is_training',
             'drop_remainder', 'shuffle_buffer_size', 'cache', 'deterministic', 'seed'],
            READER),
        **dict.fromkeys(
            ['tfds_data_dir', 'tfds_as_supervised', 'tfds_skip_decoding_feature',
             'cycle_length', 'block_length', 'ram_budget', 'sharding',
             'prefetch_buffer_size', 'autotune_algorithm'], STAGES),
    },
    cfg.RuntimeConfig: {
        **dict.fromkeys(['distribution_strategy', 'num_gpus', 'tpu', 'worker_hosts',
                         'task_index', 'all_reduce_alg', 'num_packs'], MAIN),
        **dict.fromkeys(['enable_xla', 'run_eagerly', 'tpu_enable_xla_dynamic_padder',
                         'dataset_num_private_threads'], TRAINER),
        **dict.fromkeys(['mixed_precision_dtype', 'seed'], 'official_like/core/train_utils.py'),
        'loss_scale': 'official_like/core/base_task.py',
    },
    cfg.TrainerConfig: {
        **dict.fromkeys(['train_tf_while_loop', 'train_tf_function', 'eval_tf_function',
                         'eval_tf_while_loop', 'allow_tpu_summary'], TRAINER),
        **dict.fromkeys(['steps_per_loop', 'summary_interval', 'checkpoint_interval',
                         'max_to_keep', 'continuous_eval_timeout', 'train_steps',
                         'validation_steps', 'validation_interval',
                         'validation_summary_subdir'], RUNNER),
        **dict.fromkeys(['best_checkpoint_export_subdir', 'best_checkpoint_eval_metric',
                         'best_checkpoint_metric_comp'], 'official_like/core/train_utils.py'),
        **dict.fromkeys(['loss_upper_bound', 'recovery_begin_steps', 'recovery_max_trials',
                         'preemption_on_demand_checkpoint'], 'official_like/core/actions.py'),
        'optimizer_config': 'official_like/core/train_utils.py',
    },
    cfg.TaskConfig: {
        'init_checkpoint': 'official_like/core/base_task.py',
        'model': 'experiments/digits.py',  # Read by each Task's build_model.
        'train_data': TRAINER,
        'validation_data': TRAINER,
        'name': 'official_like/core/task_factory.py',
    },
    cfg.ExperimentConfig: dict.fromkeys(['task', 'trainer', 'runtime'], RUNNER),
}


def _fields(cls):
  return {f.name for f in dataclasses.fields(cls)}


@pytest.mark.parametrize('cls', SUPPORTED, ids=lambda c: c.__name__)
def test_every_field_is_supported_or_refused(cls):
  supported, unsupported = set(SUPPORTED[cls]), set(getattr(cls, 'UNSUPPORTED', {}))
  assert not supported & unsupported
  assert supported | unsupported == _fields(cls)
  assert _fields(getattr(tfm_cfg, cls.__name__)) <= _fields(cls)


@pytest.mark.parametrize('cls, field', [(c, f) for c in SUPPORTED for f in SUPPORTED[c]],
                         ids=lambda x: getattr(x, '__name__', x))
def test_supported_field_is_read_where_listed(cls, field):
  del cls
  path = [p for c in SUPPORTED.values() for f, p in c.items() if f == field][0]
  with open(os.path.join(ROOT, path), encoding='utf-8') as f:
    source = f.read()
  assert re.search(rf"\.{field}\b|'{field}'", source), f'{field} is not read in {path}'


_NON_DEFAULT = {bool: True, int: 7, str: 'x'}


@pytest.mark.parametrize('cls, field', [(c, f) for c in SUPPORTED
                                        for f in getattr(c, 'UNSUPPORTED', {})],
                         ids=lambda x: getattr(x, '__name__', x))
def test_unsupported_field_is_refused_when_set(cls, field):
  config = cls()
  assert config.validate() is None  # The default loads (TFM YAML files set it).
  default = getattr(config, field)
  value = {'differential_privacy_config': {'clipping_norm': 1.0}}.get(
      field, _NON_DEFAULT.get(type(default), 'x') if default is not None else 'x')
  if value == default:
    value = 3
  setattr(config, field, value)
  with pytest.raises(ConfigError) as error:
    config.validate()
  assert str(error.value).startswith(f'{field}: ')
  assert 'is not supported by official_like' in str(error.value)


def test_autotune_algorithm_names_are_tensorflows():
  assert set(cfg.AUTOTUNE_ALGORITHMS) == {
      a.name for a in tf.data.experimental.AutotuneAlgorithm}
  with pytest.raises(ConfigError, match="autotune_algorithm: 'HILLCLIMB' is not allowed; "
                     "did you mean 'HILL_CLIMB'"):
    cfg.DataConfig(autotune_algorithm='HILLCLIMB').validate()


def test_tfds_without_the_package_is_refused(monkeypatch):
  real = importlib.util.find_spec
  monkeypatch.setattr(importlib.util, 'find_spec',
                      lambda name, *a: None if name == 'tensorflow_datasets' else real(name, *a))
  with pytest.raises(ConfigError, match="tfds_name: 'mnist' needs the tensorflow-datasets"):
    cfg.DataConfig(tfds_name='mnist').validate()


def test_tfds_input_is_read_with_tfds():
  tfds = pytest.importorskip('tensorflow_datasets')
  params = cfg.DataConfig(tfds_name='mnist', tfds_split='train', tfds_as_supervised=True,
                          global_batch_size=4, is_training=False, drop_remainder=False)
  params.validate()
  with tfds.testing.mock_data(num_examples=10):  # Generated from MNIST's spec: no download.
    batches = list(input_reader.read(params))
  assert [tuple(x.shape) for x, _ in batches] == [(4, 28, 28, 1), (4, 28, 28, 1), (2, 28, 28, 1)]
  assert all(y.dtype == tf.int64 for _, y in batches)


def test_data_options_reach_the_dataset():
  params = cfg.DataConfig(global_batch_size=4, is_training=False, deterministic=False,
                          autotune_algorithm='HILL_CLIMB', ram_budget=2,
                          prefetch_buffer_size=3, drop_remainder=False)
  dataset = input_reader.read(params, arrays=(tf.range(10), tf.range(10)))
  options = dataset.options()
  assert options.deterministic is False
  assert options.autotune.autotune_algorithm == (
      tf.data.experimental.AutotuneAlgorithm.HILL_CLIMB)
  assert options.autotune.ram_budget == 2 * 1024**3
  assert [int(b[0][0]) for b in dataset] == [0, 4, 8]


def test_cycle_and_block_length_interleave_files(tmp_path):
  files = []
  for i in range(2):
    path = str(tmp_path / f'f{i}.tfrecord')
    with tf.io.TFRecordWriter(path) as writer:
      for j in range(4):
        writer.write(f'{i}{j}'.encode())
    files.append(path)
  params = cfg.DataConfig(input_path=files, global_batch_size=1, is_training=False,
                          cycle_length=2, block_length=2)
  dataset = input_reader.read(params, decode_fn=lambda x: x)
  assert [b.numpy()[0].decode() for b in dataset] == [
      '00', '01', '10', '11', '02', '03', '12', '13']


def test_private_threads_and_eager_mode_reach_the_trainer():
  dataset = tf.data.Dataset.range(4)
  wrapped = base_trainer._with_private_threads(dataset, 3)  # pylint: disable=protected-access
  assert wrapped.options().threading.private_threadpool_size == 3
  seen = []

  def build(params, input_context=None):
    seen.append(input_context)
    return tf.data.Dataset.range(params)
  fn = base_trainer._with_private_threads(build, 2)  # pylint: disable=protected-access
  assert fn(5, input_context='ctx').options().threading.private_threadpool_size == 2
  assert seen == ['ctx']
  # Orbit gives the input context (this pipeline's shard) only to a parameter it sees.
  orbit.utils.make_distributed_dataset(tf.distribute.get_strategy(), fn, 5)
  assert isinstance(seen[-1], tf.distribute.InputContext)
