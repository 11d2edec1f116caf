"""From flags (or an equivalent object) to a validated ExperimentConfig, without TensorFlow.

Precedence, lowest first: the registered experiment's defaults, each
`config_file` in order, `tpu`/`num_gpus`/`tf_data_service`, then
`params_override`. Nothing here imports TensorFlow, so a typo in any of them
is reported before TensorFlow loads. `train_utils` re-exports these names
where TFM users look for them.
"""
import dataclasses
import pprint
from typing import Any, List, Optional

from absl import logging

from official_like.core import config_definitions as cfg
from official_like.core import exp_factory
from official_like.modeling.hyperparams import checks
from official_like.modeling.hyperparams import ConfigError
from official_like.modeling.hyperparams import params_parser
from official_like.modeling.hyperparams.errors import under
from official_like.modeling.optimization import lr_resolution
from official_like.modeling.optimization.configs.optimization_config import OptimizationConfig


@dataclasses.dataclass
class ParseConfigOptions:
  """Stands in for absl FLAGS when a config is parsed from code."""
  experiment: str
  config_file: List[str]
  tpu: str = ''
  tf_data_service: str = ''
  params_override: str = ''

  def __contains__(self, name):
    return name in dataclasses.asdict(self)


def _flag(flags_obj: Any, name: str) -> Optional[Any]:
  return getattr(flags_obj, name) if name in flags_obj else None


class ExperimentParser:
  """Builds the config in steps that a subclass may replace one at a time."""

  def __init__(self, flags_obj):
    self._flags_obj = flags_obj

  def parse(self) -> cfg.ExperimentConfig:
    params = self.base_experiment()
    params = self.parse_config_file(params)
    params = self.parse_runtime(params)
    params = self.parse_data_service(params)
    return self.parse_params_override(params)

  def base_experiment(self) -> cfg.ExperimentConfig:
    name = self._flags_obj.experiment
    if not name:
      raise ConfigError(('--experiment',), 'is required; registered experiments: '
                        f"{', '.join(exp_factory.registered_experiments())}")
    try:
      return exp_factory.get_exp_config(name)
    except ConfigError as e:
      raise ConfigError(('--experiment',), e.reason) from None

  def parse_config_file(self, params: cfg.ExperimentConfig) -> cfg.ExperimentConfig:
    for path in _flag(self._flags_obj, 'config_file') or []:
      overrides = params_parser.load_yaml_file(path, '--config_file')
      try:
        params.override(overrides, is_strict=True)
      except ConfigError as e:
        raise ConfigError(e.path, f'{e.reason} (in --config_file {path!r})') from None
    return params

  def parse_runtime(self, params: cfg.ExperimentConfig) -> cfg.ExperimentConfig:
    runtime = {key: _flag(self._flags_obj, key) for key in ('tpu', 'num_gpus')}
    runtime = {k: v for k, v in runtime.items() if v not in (None, '')}
    if runtime:
      params.override({'runtime': runtime})
    return params

  def parse_data_service(self, params: cfg.ExperimentConfig) -> cfg.ExperimentConfig:
    address = _flag(self._flags_obj, 'tf_data_service')
    if address and isinstance(params.task, cfg.TaskConfig):
      data = {'tf_data_service_address': address}
      params.override({'task': {'train_data': data, 'validation_data': data}})
    return params

  def parse_params_override(self, params: cfg.ExperimentConfig) -> cfg.ExperimentConfig:
    text = _flag(self._flags_obj, 'params_override')
    if text:
      params.override(params_parser.parse(text, '--params_override'), is_strict=True)
    return params


def check_trainable(params: cfg.ExperimentConfig) -> None:
  """Raises unless train_steps, the optimizer and the schedule are set.

  `validate()` accepts a config without them, as TFM's does: TFM's model zoo
  validates experiment configs that leave them to the user.
  """
  trainer = getattr(params, 'trainer', None)
  with under('trainer'):
    checks.positive('train_steps', getattr(trainer, 'train_steps', 1))
  config = getattr(trainer, 'optimizer_config', None)
  if isinstance(config, OptimizationConfig):
    with under('trainer', 'optimizer_config'):
      config.check_complete()


def resolve_learning_rate(params: cfg.ExperimentConfig) -> List[str]:
  """Resolves `trainer.optimizer_config` for this run, in place; returns the changes.

  `decay_steps: -1` (and the other schedule lengths) become numbers, and
  `learning_rate_scaling` is applied for `task.train_data.global_batch_size`
  (see `lr_resolution`); each change is logged. Safe to call again: an
  already resolved config is left as it is. A plan whose rate is 0 at every
  training step raises ConfigError naming the key most likely at fault.
  """
  trainer = getattr(params, 'trainer', None)
  config = getattr(trainer, 'optimizer_config', None)
  if not isinstance(config, OptimizationConfig) or config.learning_rate.type is None:
    return []
  data = getattr(getattr(params, 'task', None), 'train_data', None)
  with under('trainer', 'optimizer_config'):
    changes = lr_resolution.resolve(config, trainer.train_steps,
                                    getattr(data, 'global_batch_size', None))
    lr_resolution.check_rate_not_zero(config, trainer.train_steps)
  for change in changes:
    logging.info('Learning rate resolved: trainer.optimizer_config.%s', change)
  return changes


def parse_configuration(flags_obj, lock_return: bool = True,
                        print_return: bool = True) -> cfg.ExperimentConfig:
  """The validated, resolved (and by default locked) config that `flags_obj` describes.

  Resolved: schedule lengths tied to train_steps and batch-scaled rates are
  replaced by the numbers the run uses (`resolve_learning_rate`).
  """
  params = ExperimentParser(flags_obj).parse()
  params.validate()
  if 'train' in (_flag(flags_obj, 'mode') or ''):
    check_trainable(params)
  resolve_learning_rate(params)
  if lock_return:
    params.lock()
  if print_return:
    logging.info('Final experiment parameters:\n%s', pprint.pformat(params.as_dict()))
  return params
