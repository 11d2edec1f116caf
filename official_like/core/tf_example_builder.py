"""`TfExampleBuilder`: a tf.train.Example built feature by feature, in chained calls.

TFM's zoo writes its test fixtures with it:
`TfExampleBuilder().add_bytes_feature('image/encoded', png).add_ints_feature('label', 3).example`.
A single value or a list (or NumPy array) of values becomes one feature; str
values are stored UTF-8 encoded.
"""
from __future__ import annotations

from typing import Mapping, Sequence, Union

import numpy as np
import tensorflow as tf

BytesValueType = Union[bytes, Sequence[bytes], str, Sequence[str]]


def _values(value) -> list:
  return list(value) if isinstance(value, (list, np.ndarray)) else [value]


def _as_bytes(value) -> bytes:
  return value.encode('utf-8') if isinstance(value, str) else value


class TfExampleBuilder:
  """Accumulates features into one tf.train.Example; each `add_*` returns the builder."""

  def __init__(self) -> None:
    self._example = tf.train.Example()

  @property
  def example(self) -> tf.train.Example:
    return self._example

  @property
  def serialized_example(self) -> bytes:
    return self._example.SerializeToString()

  def set(self, example: tf.train.Example) -> TfExampleBuilder:
    self._example = example
    return self

  def reset(self) -> TfExampleBuilder:
    return self.set(tf.train.Example())

  def add_feature_dict(self, feature_dict: Mapping[str, tf.train.Feature]) -> TfExampleBuilder:
    for key, feature in feature_dict.items():
      self.add_feature(key, feature)
    return self

  def add_feature(self, key: str, feature: tf.train.Feature) -> TfExampleBuilder:
    """Sets feature `key` (replacing what was there)."""
    self._example.features.feature[key].CopyFrom(feature)
    return self

  def add_bytes_feature(self, key: str, value: BytesValueType) -> TfExampleBuilder:
    values = [_as_bytes(v) for v in _values(value)]
    return self.add_feature(key, tf.train.Feature(bytes_list=tf.train.BytesList(value=values)))

  def add_ints_feature(self, key: str, value: Union[int, Sequence[int]]) -> TfExampleBuilder:
    return self.add_feature(
        key, tf.train.Feature(int64_list=tf.train.Int64List(value=_values(value))))

  def add_floats_feature(self, key: str,
                         value: Union[float, Sequence[float]]) -> TfExampleBuilder:
    return self.add_feature(
        key, tf.train.Feature(float_list=tf.train.FloatList(value=_values(value))))
