"""Experiments by name: `--experiment=digits_mlp` picks a registered config factory."""
from typing import Callable

from official_like.core import config_definitions as cfg
from official_like.core.registry import Registry
from official_like.modeling.hyperparams import Config

_EXPERIMENTS = Registry('experiment')


def register_config_factory(name: str) -> Callable:
  """Decorates a function returning an ExperimentConfig; registers it as `name`."""
  return _EXPERIMENTS.register(name)


def get_exp_config(name: str) -> cfg.ExperimentConfig:
  """A fresh config from the factory registered as `name` (any Config, as in TFM)."""
  config = _EXPERIMENTS.lookup(name)()
  if not isinstance(config, Config):
    raise TypeError(f'experiment {name!r}: its factory returned '
                    f'{type(config).__name__}, not a Config')
  return config


def registered_experiments():
  return _EXPERIMENTS.names()
