"""Configs of the bundled-data experiments: which split, which files, what batch.

TensorFlow-free, so `trainer_main.py` checks every value before TensorFlow
loads. The Task that reads these settings is in `bundled_task.py`.
"""
import dataclasses

from official_like.core import config_definitions as cfg
from official_like.modeling.hyperparams import checks
from official_like.modeling.hyperparams import ConfigError
from official_like.run import file_patterns

SPLITS = ('train', 'validation')


@dataclasses.dataclass
class BundledDataConfig(cfg.DataConfig):
  """DataConfig plus which split of the bundled dataset to read from memory.

  `validate` also rejects a zero batch size and a local `input_path` glob
  that matches no file, which would otherwise fail only once training
  starts, with a traceback and after model_dir has been written to.
  """
  split: str = 'train'

  def validate(self):
    super().validate()
    checks.one_of('split', self.split, SPLITS, 'splits')
    checks.positive('global_batch_size', self.global_batch_size)
    paths = [self.input_path] if isinstance(self.input_path, str) else self.input_path
    if self.input_path and not any(file_patterns.is_remote(p) for p in paths):
      try:
        file_patterns.match_files(self.input_path)
      except ValueError as e:
        raise ConfigError(('input_path',), str(e)) from None


@dataclasses.dataclass
class BundledTaskConfig(cfg.TaskConfig):
  """A TaskConfig whose train/validation data are bundled-dataset settings."""
  train_data: BundledDataConfig = dataclasses.field(default_factory=BundledDataConfig)
  validation_data: BundledDataConfig = dataclasses.field(
      default_factory=BundledDataConfig)


def data_configs(train_batch: int, validation_batch: int):
  """Train (shuffled, repeated) and validation (one full pass) settings."""
  train = BundledDataConfig(split='train', is_training=True,
                            global_batch_size=train_batch,
                            shuffle_buffer_size=2048, seed=1)
  validation = BundledDataConfig(split='validation', is_training=False,
                                 global_batch_size=validation_batch,
                                 drop_remainder=False)
  return train, validation
