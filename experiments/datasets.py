"""Real data bundled with scikit-learn, so experiments run with no download.

Two datasets, each with a fixed 80/20 train/validation split:

* `digits`: 1797 8x8 grey-scale images of the digits 0-9. Features are
  float32 images of shape [8, 8, 1] scaled to [0, 1] (pixel / 16); labels are
  int32 class ids. Kept image-shaped so a conv net can use them as is; an MLP
  starts with a Flatten layer. Split stratified by class.
* `diabetes`: 442 patients, 10 float32 features and a float32 scalar target
  (disease progression). Features and target are standardised with the
  statistics of the *training* split only, so validation stays unseen; the
  target's mean/std are in `info('diabetes')` to undo the scaling.

`load(name, split)` returns NumPy `(features, labels)`; `encode_example` and
`decode_fn(name)` are the tf.Example round trip used for TFRecord shards, and
give back exactly the same arrays (float32 survives float_list unchanged).
"""
import dataclasses
import functools
from typing import Callable, Dict, Optional, Tuple

import numpy as np
from sklearn import datasets as sk_datasets
from sklearn import model_selection
import tensorflow as tf

from experiments.bundled_config import SPLITS

DATASETS = ('digits', 'diabetes')
VALIDATION_FRACTION = 0.2
SPLIT_SEED = 0  # Fixed: every run and every worker sees the same split.

# tf.Example layout: feature key, flat feature length, label dtype.
_FEATURE_KEY = {'digits': 'image', 'diabetes': 'features'}
_LABEL_KEY = 'label'
_FEATURE_SHAPE = {'digits': (8, 8, 1), 'diabetes': (10,)}
_LABEL_DTYPE = {'digits': np.int32, 'diabetes': np.float32}


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
  """What a model or task needs to know about a dataset without loading it."""
  name: str
  feature_shape: Tuple[int, ...]
  num_classes: Optional[int]  # None for regression.
  num_examples: Dict[str, int]
  target_mean: Optional[float] = None  # Regression: label = (y - mean) / std.
  target_std: Optional[float] = None


def check_name(name: str) -> str:
  """Returns `name` if it is a bundled dataset, else a ValueError listing them."""
  if name not in DATASETS:
    raise ValueError(f'Unknown dataset {name!r}; valid names: '
                     f'{", ".join(DATASETS)}.')
  return name


def _check_split(split: str) -> str:
  if split not in SPLITS:
    raise ValueError(f'Unknown split {split!r}; valid splits: '
                     f'{", ".join(SPLITS)}.')
  return split


@functools.lru_cache(maxsize=None)
def _splits(name: str):
  """Loads and splits once per process; callers get copies (see `load`)."""
  if name == 'digits':
    x, y = sk_datasets.load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32).reshape((-1,) + _FEATURE_SHAPE[name])
    x_tr, x_va, y_tr, y_va = model_selection.train_test_split(
        x, y.astype(np.int32), test_size=VALIDATION_FRACTION,
        random_state=SPLIT_SEED, stratify=y)
    stats = {}
  else:
    x, y = sk_datasets.load_diabetes(return_X_y=True, scaled=False)
    x_tr, x_va, y_tr, y_va = model_selection.train_test_split(
        x, y, test_size=VALIDATION_FRACTION, random_state=SPLIT_SEED)
    mean, std = x_tr.mean(axis=0), x_tr.std(axis=0)
    x_tr, x_va = [((a - mean) / std).astype(np.float32) for a in (x_tr, x_va)]
    stats = {'target_mean': float(y_tr.mean()), 'target_std': float(y_tr.std())}
    y_tr, y_va = [((a - stats['target_mean']) / stats['target_std']).astype(
        np.float32) for a in (y_tr, y_va)]
  return {'train': (x_tr, y_tr), 'validation': (x_va, y_va)}, stats


def load(name: str, split: str) -> Tuple[np.ndarray, np.ndarray]:
  """Returns `(features, labels)` of one split as NumPy arrays (fresh copies)."""
  data, _ = _splits(check_name(name))
  features, labels = data[_check_split(split)]
  return features.copy(), labels.copy()


def info(name: str) -> DatasetInfo:
  data, stats = _splits(check_name(name))
  return DatasetInfo(
      name=name, feature_shape=_FEATURE_SHAPE[name],
      num_classes=10 if name == 'digits' else None,
      num_examples={s: len(data[s][1]) for s in SPLITS}, **stats)


def encode_example(name: str, features: np.ndarray, label) -> bytes:
  """Serializes one example: features as a flat float_list, label as
  int64_list (digits) or float_list (diabetes)."""
  check_name(name)
  flat = np.asarray(features, np.float32).reshape(-1)
  if _LABEL_DTYPE[name] == np.int32:
    label_feature = tf.train.Feature(int64_list=tf.train.Int64List(
        value=[int(label)]))
  else:
    label_feature = tf.train.Feature(float_list=tf.train.FloatList(
        value=[float(label)]))
  example = tf.train.Example(features=tf.train.Features(feature={
      _FEATURE_KEY[name]: tf.train.Feature(
          float_list=tf.train.FloatList(value=flat)),
      _LABEL_KEY: label_feature,
  }))
  return example.SerializeToString()


def decode_fn(name: str) -> Callable[[tf.Tensor], Tuple[tf.Tensor, tf.Tensor]]:
  """Returns a function: serialized tf.Example -> `(features, label)` with
  the same shapes and dtypes as `load(name, ...)` yields per example."""
  check_name(name)
  shape = _FEATURE_SHAPE[name]
  is_classification = _LABEL_DTYPE[name] == np.int32
  spec = {
      _FEATURE_KEY[name]: tf.io.FixedLenFeature([int(np.prod(shape))],
                                                tf.float32),
      _LABEL_KEY: tf.io.FixedLenFeature(
          [], tf.int64 if is_classification else tf.float32),
  }

  def decode(serialized: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
    parsed = tf.io.parse_single_example(serialized, spec)
    features = tf.reshape(parsed[_FEATURE_KEY[name]], shape)
    label = parsed[_LABEL_KEY]
    if is_classification:
      label = tf.cast(label, tf.int32)
    return features, label

  return decode
