"""official_like.core.input_reader.read on arrays and on TFRecord shards."""
import collections
import types

import pytest
import tensorflow as tf

from experiments import datasets
from experiments import write_tfrecords
from official_like.core import input_reader

DECODE = datasets.decode_fn('digits')


def _params(**overrides):
  """Stand-in for DataConfig: only the attributes `read` uses."""
  values = dict(input_path='', global_batch_size=32, is_training=False,
                drop_remainder=True, shuffle_buffer_size=2000, cache=False,
                seed=7)
  values.update(overrides)
  return types.SimpleNamespace(**values)


@pytest.fixture(scope='module')
def shards(tmp_path_factory):
  """{num_shards: {split: glob}} for digits written with 1, 2 and 8 shards."""
  root = tmp_path_factory.mktemp('digits')
  return {n: write_tfrecords.write('digits', str(root / f'shards{n}'), n)
          for n in (1, 2, 8)}


def _arrays(split):
  return datasets.load('digits', split)


def _examples(dataset, limit=None):
  """Unbatches to a list of (image bytes, label) in dataset order."""
  dataset = dataset.unbatch()
  if limit is not None:
    dataset = dataset.take(limit)
  return [(x.tobytes(), int(y)) for x, y in dataset.as_numpy_iterator()]


def _as_examples(arrays):
  x, y = arrays
  return [(xi.tobytes(), int(yi)) for xi, yi in zip(x, y)]


@pytest.mark.parametrize('num_shards', [1, 2])
def test_eval_files_match_arrays_in_order(shards, num_shards):
  params = _params(drop_remainder=False)
  from_arrays = _examples(input_reader.read(params,
                                            arrays=_arrays('validation')))
  from_files = _examples(input_reader.read(
      _params(drop_remainder=False,
              input_path=shards[num_shards]['validation']),
      decode_fn=DECODE))
  assert len(from_arrays) == 360  # One pass, nothing dropped or repeated.
  assert from_files == from_arrays == _as_examples(_arrays('validation'))


def test_eval_batches_shapes_and_dtypes(shards):
  dataset = input_reader.read(_params(input_path=shards[1]['validation']),
                              decode_fn=DECODE)
  x_spec, y_spec = dataset.element_spec
  assert x_spec.shape == (32, 8, 8, 1) and x_spec.dtype == tf.float32
  assert y_spec.shape == (32,) and y_spec.dtype == tf.int32
  assert sum(1 for _ in dataset) == 360 // 32  # Remainder dropped, no repeat.
  ragged = input_reader.read(_params(drop_remainder=False),
                             arrays=_arrays('validation'))
  assert [int(y.shape[0]) for _, y in ragged][-1] == 360 % 32


@pytest.mark.parametrize('cache', [False, True])
def test_training_epochs_are_shuffled_permutations(shards, cache):
  """Shuffle precedes repeat: each epoch holds every example exactly once."""
  n = 1437
  expected = collections.Counter(_as_examples(_arrays('train')))
  for kwargs in (dict(arrays=_arrays('train')),
                 dict(decode_fn=DECODE)):
    path = '' if 'arrays' in kwargs else shards[2]['train']
    params = _params(is_training=True, cache=cache, input_path=path,
                     shuffle_buffer_size=100)
    stream = _examples(input_reader.read(params, **kwargs), limit=2 * n + 5)
    assert len(stream) == 2 * n + 5  # Repeats forever.
    epoch1, epoch2 = stream[:n], stream[n:2 * n]
    assert collections.Counter(epoch1) == expected
    assert collections.Counter(epoch2) == expected
    assert epoch1 != epoch2  # Reshuffled every epoch.
    assert list(expected) not in (epoch1, epoch2)  # Not the stored order.


def test_training_is_deterministic_given_a_seed(shards):
  def first_labels(seed, path=''):
    params = _params(is_training=True, seed=seed, input_path=path)
    arrays = None if path else _arrays('train')
    dataset = input_reader.read(params, arrays=arrays, decode_fn=DECODE)
    return [y.tolist() for _, y in dataset.take(3).as_numpy_iterator()]

  assert first_labels(1) == first_labels(1) != first_labels(2)
  # 8 files: file order (shuffled per seed) must be reproducible too.
  path = shards[8]['train']
  assert first_labels(1, path) == first_labels(1, path) != first_labels(2,
                                                                        path)


@pytest.mark.parametrize('source', ['arrays', 'files'])
def test_mirrored_strategy_gets_per_replica_batches(shards, source, two_cpu_strategy):
  strategy = two_cpu_strategy
  contexts = []

  def dataset_fn(ctx):
    contexts.append(ctx)
    if source == 'arrays':
      return input_reader.read(_params(is_training=True), input_context=ctx,
                               arrays=_arrays('train'))
    return input_reader.read(
        _params(is_training=True, input_path=shards[2]['train']),
        input_context=ctx, decode_fn=DECODE)

  dist = strategy.distribute_datasets_from_function(dataset_fn)
  x, y = next(iter(dist))
  assert contexts and contexts[0].num_replicas_in_sync == 2
  xs, ys = strategy.experimental_local_results(x), (
      strategy.experimental_local_results(y))
  assert len(xs) == 2
  assert [t.shape.as_list() for t in xs] == [[16, 8, 8, 1]] * 2
  assert [t.shape.as_list() for t in ys] == [[16]] * 2


@pytest.mark.parametrize('source', ['arrays', '1 file', '2 files'])
def test_input_context_shards_are_disjoint_halves(shards, source):
  kwargs = {'arrays': dict(arrays=_arrays('validation'))}.get(
      source, dict(decode_fn=DECODE))
  path = {'arrays': '', '1 file': shards[1]['validation'],
          '2 files': shards[2]['validation']}[source]
  halves = []
  for pipeline_id in range(2):
    ctx = tf.distribute.InputContext(num_input_pipelines=2,
                                     input_pipeline_id=pipeline_id,
                                     num_replicas_in_sync=2)
    params = _params(input_path=path, global_batch_size=8,
                     drop_remainder=False)
    halves.append(_examples(input_reader.read(params, input_context=ctx,
                                              **kwargs)))
  everything = _as_examples(_arrays('validation'))
  assert [len(h) for h in halves] == [180, 180]
  assert not set(halves[0]) & set(halves[1])
  assert sorted(halves[0] + halves[1]) == sorted(everything)
  # Both strategies (files, examples) give pipeline i the examples i, i+2, ..
  assert halves[0] == everything[0::2] and halves[1] == everything[1::2]


def test_per_pipeline_batch_uses_replicas_not_pipelines():
  ctx = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=0,
                                   num_replicas_in_sync=4)
  dataset = input_reader.read(_params(), arrays=_arrays('validation'),
                              input_context=ctx)
  assert dataset.element_spec[0].shape[0] == 8


def test_empty_glob_fails_before_reading(tmp_path, shards):
  bad = str(tmp_path / 'nothing-*.tfrecord')
  for path in (bad, f"{shards[1]['train']}, {bad}", [shards[1]['train'], bad]):
    with pytest.raises(ValueError) as err:
      input_reader.read(_params(input_path=path), decode_fn=DECODE)
    message = str(err.value)
    assert '`input_path`' in message and repr(bad) in message
    assert 'no file matched' in message
  missing = str(tmp_path / 'missing.tfrecord')  # Literal paths are checked too.
  with pytest.raises(ValueError, match='no file matched'):
    input_reader.read(_params(input_path=missing), decode_fn=DECODE)


def test_match_files_sorted_and_deduplicated(shards):
  files = sorted(tf.io.gfile.glob(shards[8]['train']))
  assert len(files) == 8
  assert input_reader.match_files(f"{files[3]},{shards[8]['train']}") == files
  assert input_reader.match_files(files[::-1]) == files


def test_other_config_errors(shards):
  with pytest.raises(ValueError, match='`arrays` must be given'):
    input_reader.read(_params())
  with pytest.raises(ValueError, match='`decode_fn` is required'):
    input_reader.read(_params(input_path=shards[1]['train']))
  with pytest.raises(ValueError, match='`shuffle_buffer_size`.* 0'):
    input_reader.read(_params(is_training=True, shuffle_buffer_size=0),
                      arrays=_arrays('train'))


def test_cache_serves_later_epochs_without_the_files(shards, tmp_path):
  for name in tf.io.gfile.glob(shards[2]['train']):
    tf.io.gfile.copy(name, str(tmp_path / name.rsplit('/', 1)[-1]))
  params = _params(is_training=True, cache=True,
                   input_path=str(tmp_path / 'train-*'))
  batches = iter(input_reader.read(params, decode_fn=DECODE))
  epoch = 1437 // 32 + 1
  for _ in range(epoch + 2):  # Past the first epoch: the cache is complete.
    next(batches)
  for name in tf.io.gfile.glob(str(tmp_path / 'train-*')):
    tf.io.gfile.remove(name)
  for _ in range(3 * epoch):  # Would fail re-opening the files without cache.
    x, _ = next(batches)
  assert x.shape == (32, 8, 8, 1)


# TFM's InputReader class (TFM's zoo builds and subclasses it) runs the same pipeline.

def _tfm_params(**overrides):
  from official_like.core import config_definitions as cfg  # pylint: disable=g-import-not-at-top
  return cfg.DataConfig(**{**dict(global_batch_size=32, seed=7, shuffle_buffer_size=200),
                           **overrides})


@pytest.mark.parametrize('is_training', [False, True])
def test_tfm_input_reader_class_reads_what_read_reads(shards, is_training):
  params = _tfm_params(input_path=shards[8]['train'], is_training=is_training)
  from_class = input_reader.InputReader(params, decoder_fn=DECODE).read()
  from_read = input_reader.read(params, decode_fn=DECODE)
  limit = 3000 if is_training else None  # Past one epoch of 1437 when training.
  assert _examples(from_class, limit) == _examples(from_read, limit)


def test_tfm_input_reader_stages_run_in_tfms_order(shards):
  """decode -> parse -> filter -> batch -> postprocess, each a user function."""
  params = _tfm_params(input_path=shards[1]['validation'], is_training=False,
                       drop_remainder=False)
  reader = input_reader.InputReader(
      params, decoder_fn=DECODE, parser_fn=lambda x, y: (x, y * 10),
      filter_fn=lambda x, y: y < 50, postprocess_fn=lambda x, y: (x, y + 1))
  labels = [int(v) for _, y in reader.read().as_numpy_iterator() for v in y]
  expected = [int(y) * 10 + 1 for y in _arrays('validation')[1] if y * 10 < 50]
  assert labels == expected


def test_tfm_input_reader_refuses_tfds_without_split():
  with pytest.raises(ValueError, match="tfds_name is 'mnist', but tfds_split is not set"):
    input_reader.InputReader(_tfm_params(tfds_name='mnist'))
