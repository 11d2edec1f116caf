"""Common ground of the bundled-data experiments: where examples come from.

Both sources give identical examples: the in-memory arrays of the bundled
scikit-learn dataset (default), or TFRecord files written by
`write_tfrecords.py` when `input_path` is set.
"""
import dataclasses

from official_like.core import base_task
from official_like.core import config_definitions as cfg
from official_like.core import input_reader
from official_like.modeling.hyperparams import ConfigError
from official_like.modeling.hyperparams import checks

from experiments import datasets


@dataclasses.dataclass
class BundledDataConfig(cfg.DataConfig):
  """DataConfig plus which split of the bundled dataset to read from memory.

  `validate` also rejects a zero batch size and an `input_path` glob that
  matches no file, which would otherwise fail only once training starts,
  with a traceback and after model_dir has been written to.
  """
  split: str = 'train'

  def validate(self):
    super().validate()
    if self.split not in datasets.SPLITS:
      raise ConfigError(('split',), f"must be one of {', '.join(datasets.SPLITS)}, "
                        f'got {self.split!r}')
    checks.positive('global_batch_size', self.global_batch_size)
    if self.input_path:
      try:
        input_reader.match_files(self.input_path)
      except ValueError as e:
        raise ConfigError(('input_path',), str(e)) from None


@dataclasses.dataclass
class BundledTaskConfig(cfg.TaskConfig):
  """A TaskConfig whose train/validation data are bundled-dataset settings."""
  train_data: BundledDataConfig = dataclasses.field(default_factory=BundledDataConfig)
  validation_data: BundledDataConfig = dataclasses.field(
      default_factory=BundledDataConfig)


class BundledDataTask(base_task.Task):
  """A Task whose inputs are one of `datasets.DATASETS`; subclasses set `dataset`."""

  dataset = ''

  def build_inputs(self, params: BundledDataConfig, input_context=None):
    return input_reader.read(
        params, decode_fn=datasets.decode_fn(self.dataset),
        arrays=None if params.input_path else datasets.load(self.dataset, params.split),
        input_context=input_context)


def data_configs(train_batch: int, validation_batch: int):
  """Train (shuffled, repeated) and validation (one full pass) settings."""
  train = BundledDataConfig(split='train', is_training=True,
                            global_batch_size=train_batch,
                            shuffle_buffer_size=2048, seed=1)
  validation = BundledDataConfig(split='validation', is_training=False,
                                 global_batch_size=validation_batch,
                                 drop_remainder=False)
  return train, validation
