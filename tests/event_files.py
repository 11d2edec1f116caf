"""Reads TensorBoard event files back, as the tests check them against schedules."""
import glob
import os
from typing import Dict, List, Tuple

import tensorflow as tf

Scalars = Dict[str, Dict[int, float]]


def read_file(path: str) -> Scalars:
  """{tag: {step: value}} of one event file; a torn last record (killed writer) ends it."""
  out: Scalars = {}
  try:
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        number = (value.simple_value if value.WhichOneof('value') == 'simple_value'
                  else float(tf.make_ndarray(value.tensor)))
        out.setdefault(value.tag, {})[int(event.step)] = number
  except tf.errors.DataLossError:
    pass
  return out


def read_events(directory: str) -> List[Tuple[int, Scalars]]:
  """[(first logged step, scalars)] per event file, earliest first.

  Files are ordered by the steps they hold, not by name or wall time: two runs
  in one process within a second get event files whose names and creation
  times do not order them reliably.
  """
  files = []
  for path in glob.glob(os.path.join(directory, 'events.out.tfevents.*')):
    tags = read_file(path)
    first = min((s for values in tags.values() for s in values), default=-1)
    files.append((first, tags))
  return sorted(files, key=lambda f: f[0])


def scalars(directory: str) -> Scalars:
  """{tag: {step: value}} over every event file in `directory`."""
  merged: Scalars = {}
  for _, tags in read_events(directory):
    for tag, values in tags.items():
      merged.setdefault(tag, {}).update(values)
  return merged


def raw_values(directory: str) -> List[Tuple[int, str, bytes, bytes]]:
  """(step, tag, serialized metadata, serialized tensor) of every summary value, in file order."""
  out = []
  for path in sorted(glob.glob(os.path.join(directory, 'events.out.tfevents.*'))):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        out.append((int(event.step), value.tag, value.metadata.SerializeToString(),
                    value.tensor.SerializeToString()))
  return out
