"""Bundled datasets, their tf.Example round trip and write_tfrecords."""
import collections
import os
import subprocess
import sys

import numpy as np
import pytest
from sklearn import datasets as sk_datasets
import tensorflow as tf

from experiments import datasets
from experiments import write_tfrecords

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = {'digits': (1437, 360), 'diabetes': (353, 89)}


def _rows(features):
  return collections.Counter(
      np.asarray(r, np.float32).tobytes() for r in features)


@pytest.mark.parametrize('name', datasets.DATASETS)
def test_split_sizes_and_partition(name):
  train_x, train_y = datasets.load(name, 'train')
  val_x, val_y = datasets.load(name, 'validation')
  assert (len(train_x), len(val_x)) == SIZES[name]
  assert len(train_y) == len(train_x) and len(val_y) == len(val_x)
  assert datasets.info(name).num_examples == dict(
      zip(datasets.SPLITS, SIZES[name]))
  # Every example appears exactly once, in exactly one split.
  train_rows, val_rows = _rows(train_x), _rows(val_x)
  assert max(train_rows.values()) == 1 and max(val_rows.values()) == 1
  assert not set(train_rows) & set(val_rows)


def test_digits_shapes_dtypes_classes():
  x, y = datasets.load('digits', 'train')
  assert x.shape == (1437, 8, 8, 1) and x.dtype == np.float32
  assert y.shape == (1437,) and y.dtype == np.int32
  assert x.min() == 0.0 and x.max() == 1.0
  raw_x, raw_y = sk_datasets.load_digits(return_X_y=True)
  # Same images as sklearn, scaled by 1/16, across both splits.
  vx, vy = datasets.load('digits', 'validation')
  assert _rows(np.concatenate([x, vx]).reshape(-1, 64)) == _rows(raw_x / 16.0)
  assert sorted(np.concatenate([y, vy])) == sorted(raw_y)
  for labels in (y, vy):
    assert set(labels.tolist()) == set(range(10))
  # Stratified: each class's share of validation is within 1 example of 20%.
  for c in range(10):
    n = np.sum(raw_y == c)
    assert abs(np.sum(vy == c) - 0.2 * n) <= 1
  assert datasets.info('digits').num_classes == 10


def test_diabetes_standardised_on_train_only():
  x, y = datasets.load('diabetes', 'train')
  vx, vy = datasets.load('diabetes', 'validation')
  assert x.shape == (353, 10) and x.dtype == np.float32
  assert y.shape == (353,) and y.dtype == np.float32
  np.testing.assert_allclose(x.mean(0), 0, atol=1e-5)
  np.testing.assert_allclose(x.std(0), 1, atol=1e-5)
  np.testing.assert_allclose([y.mean(), y.std()], [0, 1], atol=1e-5)
  assert abs(vy.mean()) > 1e-4  # Validation was not used for the statistics.
  info = datasets.info('diabetes')
  assert info.num_classes is None
  _, raw_y = sk_datasets.load_diabetes(return_X_y=True, scaled=False)
  restored = np.concatenate([y, vy]) * info.target_std + info.target_mean
  np.testing.assert_allclose(np.sort(restored), np.sort(raw_y), rtol=1e-5)


def test_load_is_deterministic_and_returns_copies():
  x1, y1 = datasets.load('digits', 'train')
  x1[:] = -1
  x2, y2 = datasets.load('digits', 'train')
  assert x2.min() == 0.0
  np.testing.assert_array_equal(y1, y2)


@pytest.mark.parametrize('name', datasets.DATASETS)
def test_example_round_trip_is_exact(name):
  x, y = datasets.load(name, 'validation')
  decode = datasets.decode_fn(name)
  for i in (0, 1, len(y) - 1):
    fx, fy = decode(tf.constant(datasets.encode_example(name, x[i], y[i])))
    assert fx.dtype.as_numpy_dtype == x.dtype and fx.shape == x.shape[1:]
    assert fy.dtype.as_numpy_dtype == y.dtype and fy.shape == ()
    np.testing.assert_array_equal(fx.numpy(), x[i])
    assert fy.numpy() == y[i]


def test_unknown_names_list_valid_ones():
  for call in (lambda: datasets.load('mnist', 'train'),
               lambda: datasets.decode_fn('mnist'),
               lambda: write_tfrecords.write('mnist', '/nonexistent', 1)):
    with pytest.raises(ValueError, match=r"'mnist'.*digits, diabetes"):
      call()
  with pytest.raises(ValueError, match=r"'test'.*train, validation"):
    datasets.load('digits', 'test')


def test_write_returns_globs_of_round_robin_shards(tmp_path):
  # A leftover shard from an earlier 1-shard run must not match the globs.
  (tmp_path / 'train-00000-of-00001.tfrecord').write_bytes(b'')
  globs = write_tfrecords.write('diabetes', str(tmp_path), 3)
  assert set(globs) == {'train', 'validation'}
  for split, n in zip(datasets.SPLITS, SIZES['diabetes']):
    files = sorted(tf.io.gfile.glob(globs[split]))
    assert [os.path.basename(f) for f in files] == [
        f'{split}-{i:05d}-of-00003.tfrecord' for i in range(3)]
    x, _ = datasets.load('diabetes', split)
    decode = datasets.decode_fn('diabetes')
    for i, f in enumerate(files):
      shard = [decode(r)[0].numpy() for r in tf.data.TFRecordDataset(f)]
      np.testing.assert_array_equal(np.stack(shard), x[i::3])
  with pytest.raises(ValueError, match='num_shards'):
    write_tfrecords.write('digits', str(tmp_path), 0)


def _run_script(*args):
  return subprocess.run(
      [sys.executable, 'experiments/write_tfrecords.py', *args], cwd=ROOT,
      capture_output=True, text=True, timeout=120)


def test_script_writes_shards_and_prints_globs(tmp_path):
  out = tmp_path / 'tmp'
  result = _run_script('--dataset=digits', f'--output_dir={out}',
                       '--num_shards=2')
  assert result.returncode == 0, result.stderr
  names = sorted(os.listdir(out))
  assert names == [f'{s}-0000{i}-of-00002.tfrecord'
                   for s in ('train', 'validation') for i in range(2)]
  assert f'train: {out}/train-?????-of-00002.tfrecord' in result.stdout
  assert f'validation: {out}/validation-?????-of-00002.tfrecord' in (
      result.stdout)


def test_script_rejects_unknown_dataset(tmp_path):
  result = _run_script('--dataset=mnist', f'--output_dir={tmp_path}')
  assert result.returncode != 0
  assert 'mnist' in result.stderr and 'digits|diabetes' in result.stderr
  assert not os.listdir(tmp_path)
