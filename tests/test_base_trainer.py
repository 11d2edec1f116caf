"""The Trainer's constructor refuses the configs TFM's refuses, before any work, naming the field."""
import types

from official.core import base_trainer as tfm_base_trainer
import pytest

from official_like.core import base_trainer


def _config(*task_fields, trainer=True, task=True):
  config = types.SimpleNamespace()
  if trainer:
    config.trainer = types.SimpleNamespace()
  if task:
    config.task = types.SimpleNamespace(**dict.fromkeys(task_fields, object()))
  return config


def _refusal(trainer_cls, config, **kwargs) -> str:
  with pytest.raises(AttributeError) as raised:
    trainer_cls(config, task=None, model=None, optimizer=None, **kwargs)
  return str(raised.value)


@pytest.mark.parametrize('config, missing', [
    (_config(trainer=False), 'trainer'),
    (_config(task=False), 'task'),
    (_config('validation_data'), 'task.train_data'),
    (_config('train_data'), 'task.validation_data'),
])
def test_a_config_without_what_the_trainer_reads_is_refused_as_in_tfm(config, missing):
  assert _refusal(base_trainer.Trainer, config) == (
      f'The trainer needs the config to have `{missing}`.')
  assert f'attribute `{missing}`.' in _refusal(tfm_base_trainer.Trainer, config)


@pytest.mark.parametrize('kwargs, missing', [
    ({'evaluate': False}, 'task.train_data'), ({'train': False}, 'task.validation_data')])
def test_only_the_half_that_is_built_needs_its_data(kwargs, missing):
  """TFM checks both data configs whatever `train` and `evaluate` say."""
  assert _refusal(base_trainer.Trainer, _config(), **kwargs) == (
      f'The trainer needs the config to have `{missing}`.')
