"""Experiments by name: `--experiment=digits_mlp` picks a registered config factory.

Besides the names registered by imported modules, an experiment can be
named as `package.module:name` (the module is imported, then `name` looked
up), or be provided by an installed package through the entry-point group
`official_like.experiments` (loaded when its name is first asked for). No
TensorFlow is imported here.
"""
import importlib.metadata
from typing import Callable, Dict

from official_like.common import user_modules
from official_like.core import config_definitions as cfg
from official_like.modeling.hyperparams import Config
from official_like.modeling.hyperparams.registry import Registry

ENTRY_POINT_GROUP = 'official_like.experiments'
_EXPERIMENTS = Registry('experiment')


def register_config_factory(name: str) -> Callable:
  """Decorates a function returning an ExperimentConfig; registers it as `name`."""
  return _EXPERIMENTS.register(name)


def _import(module: str, what: str, name: str) -> None:
  user_modules.import_user_module(
      module, 'experiment', f'{what}: cannot import module {module!r}',
      instead=f'--import={{file}} --experiment={name}')


def _resolve(name: str) -> str:
  """Imports what provides `name` (`module:name` or an entry point); returns the name."""
  if ':' in name:
    module, name = name.rsplit(':', 1)
    _import(module, f'{module}:{name}', name)
  if name not in _EXPERIMENTS:
    for point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP, name=name):
      _import(point.module, f'entry point {point.name!r}', name)
  return name


def get_exp_config(name: str) -> cfg.ExperimentConfig:
  """A fresh config from the factory registered as `name` (any Config, as in TFM)."""
  name = _resolve(name)
  config = _EXPERIMENTS.lookup(name)()
  if not isinstance(config, Config):
    raise TypeError(f'experiment {name!r}: its factory returned '
                    f'{type(config).__name__}, not a Config')
  return config


def registered_experiments():
  return _EXPERIMENTS.names()


def describe_experiments() -> Dict[str, str]:
  """{name: first line of its factory's docstring} for every registered experiment."""
  return {name: ((_EXPERIMENTS.lookup(name).__doc__ or '').strip().splitlines() or [''])[0]
          for name in _EXPERIMENTS.names()}
