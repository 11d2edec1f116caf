"""Common ground of the bundled-data experiments: where examples come from.

Both sources give identical examples: the in-memory arrays of the bundled
scikit-learn dataset (default), or TFRecord files written by
`write_tfrecords.py` when `input_path` is set.
"""
from official_like.core import base_task
from official_like.core import input_reader

from experiments import datasets
from experiments.bundled_config import BundledDataConfig


class BundledDataTask(base_task.Task):
  """A Task whose inputs are one of `datasets.DATASETS`; subclasses set `dataset`."""

  dataset = ''

  def build_inputs(self, params: BundledDataConfig, input_context=None):
    return input_reader.read(
        params, decode_fn=datasets.decode_fn(self.dataset),
        arrays=None if params.input_path else datasets.load(self.dataset, params.split),
        input_context=input_context)
