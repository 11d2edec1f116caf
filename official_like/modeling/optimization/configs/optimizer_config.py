"""Settings of each optimizer: TFM 2.20's field names, types and defaults.

Each class maps 1:1 onto the keyword arguments of its optimizer's
constructor, so a TFM optimization YAML loads unchanged and the factory can
pass `config.as_dict()` straight through.
"""
import dataclasses
from typing import List, Optional

from official_like.modeling.hyperparams import Config
from official_like.modeling.hyperparams import ConfigError


@dataclasses.dataclass
class BaseOptimizerConfig(Config):
  """Gradient clipping shared by every optimizer; at most one may be set."""
  clipnorm: Optional[float] = None
  clipvalue: Optional[float] = None
  global_clipnorm: Optional[float] = None

  def validate(self):
    super().validate()
    clip = {k: getattr(self, k) for k in ('clipnorm', 'clipvalue', 'global_clipnorm')}
    for key, value in clip.items():
      if value is not None and value <= 0:
        raise ConfigError((key,), f'must be > 0 when set, got {value}')
    chosen = sorted(k for k, v in clip.items() if v is not None)
    if len(chosen) > 1:
      raise ConfigError((chosen[1],), 'at most one of clipnorm, clipvalue, '
                        f"global_clipnorm may be set; got {', '.join(chosen)}")


def _check_range(config, key, low, high, low_open=False, high_open=True):
  """Raises unless low <(=) config.key <(=) high."""
  value = getattr(config, key)
  if value is None:
    return
  ok_low = value > low if low_open else value >= low
  ok_high = value < high if high_open else value <= high
  if not (ok_low and ok_high):
    left, right = '(' if low_open else '[', ')' if high_open else ']'
    raise ConfigError((key,), f'must be in {left}{low}, {high}{right}, got {value}')


_INF = float('inf')


@dataclasses.dataclass
class SGDConfig(BaseOptimizerConfig):
  name: str = 'SGD'
  decay: float = 0.0
  nesterov: bool = False
  momentum: float = 0.0

  def validate(self):
    super().validate()
    _check_range(self, 'momentum', 0.0, 1.0, high_open=False)
    _check_range(self, 'decay', 0.0, _INF)


@dataclasses.dataclass
class SGDExperimentalConfig(BaseOptimizerConfig):
  name: str = 'SGD'
  nesterov: bool = False
  momentum: float = 0.0
  jit_compile: bool = False

  def validate(self):
    super().validate()
    _check_range(self, 'momentum', 0.0, 1.0, high_open=False)


@dataclasses.dataclass
class RMSPropConfig(BaseOptimizerConfig):
  name: str = 'RMSprop'
  rho: float = 0.9
  momentum: float = 0.0
  epsilon: float = 1e-7
  centered: bool = False

  def validate(self):
    super().validate()
    _check_range(self, 'rho', 0.0, 1.0, high_open=False)
    _check_range(self, 'momentum', 0.0, 1.0, high_open=False)


@dataclasses.dataclass
class AdagradConfig(BaseOptimizerConfig):
  name: str = 'Adagrad'
  initial_accumulator_value: float = 0.1
  epsilon: float = 1e-07

  def validate(self):
    super().validate()
    _check_range(self, 'initial_accumulator_value', 0.0, _INF)


@dataclasses.dataclass
class _AdamMoments(BaseOptimizerConfig):
  """Validation shared by the Adam family (betas in [0, 1), epsilon >= 0)."""

  def validate(self):
    super().validate()
    _check_range(self, 'beta_1', 0.0, 1.0)
    _check_range(self, 'beta_2', 0.0, 1.0)
    _check_range(self, 'epsilon', 0.0, _INF)


@dataclasses.dataclass
class AdamConfig(_AdamMoments):
  """Adam; its experimental and weight-decay variants extend it (same field order as TFM)."""
  name: str = 'Adam'
  beta_1: float = 0.9
  beta_2: float = 0.999
  epsilon: float = 1e-07
  amsgrad: bool = False


@dataclasses.dataclass
class AdamExperimentalConfig(AdamConfig):
  jit_compile: bool = False


@dataclasses.dataclass
class AdamWeightDecayConfig(AdamConfig):
  name: str = 'AdamWeightDecay'
  weight_decay_rate: float = 0.0
  include_in_weight_decay: Optional[List[str]] = None
  exclude_from_weight_decay: Optional[List[str]] = None
  gradient_clip_norm: float = 1.0

  def validate(self):
    super().validate()
    _check_range(self, 'weight_decay_rate', 0.0, _INF)
    _check_range(self, 'gradient_clip_norm', 0.0, _INF)


@dataclasses.dataclass
class AdamWeightDecayExperimentalConfig(AdamConfig):
  global_clipnorm: Optional[float] = 1.0
  name: str = 'AdamWeightDecayExperimental'
  weight_decay: float = 0.0
  jit_compile: bool = False

  def validate(self):
    super().validate()
    _check_range(self, 'weight_decay', 0.0, _INF)


@dataclasses.dataclass
class LAMBConfig(_AdamMoments):
  name: str = 'LAMB'
  beta_1: float = 0.9
  beta_2: float = 0.999
  epsilon: float = 1e-6
  weight_decay_rate: float = 0.0
  exclude_from_weight_decay: Optional[List[str]] = None
  exclude_from_layer_adaptation: Optional[List[str]] = None

  def validate(self):
    super().validate()
    _check_range(self, 'weight_decay_rate', 0.0, _INF)


@dataclasses.dataclass
class EMAConfig(BaseOptimizerConfig):
  """Exponential moving average of the weights, wrapped around the optimizer."""
  name: str = 'ExponentialMovingAverage'
  trainable_weights_only: bool = True
  average_decay: float = 0.99
  start_step: int = 0
  dynamic_decay: bool = True

  def validate(self):
    super().validate()
    _check_range(self, 'average_decay', 0.0, 1.0, high_open=False)
    _check_range(self, 'start_step', 0, _INF)


@dataclasses.dataclass
class LARSConfig(BaseOptimizerConfig):
  name: str = 'LARS'
  momentum: float = 0.9
  eeta: float = 0.001
  weight_decay_rate: float = 0.0
  nesterov: bool = False
  classic_momentum: bool = True
  exclude_from_weight_decay: Optional[List[str]] = None
  exclude_from_layer_adaptation: Optional[List[str]] = None

  def validate(self):
    super().validate()
    _check_range(self, 'momentum', 0.0, 1.0, high_open=False)
    _check_range(self, 'weight_decay_rate', 0.0, _INF)


@dataclasses.dataclass
class SLIDEConfig(BaseOptimizerConfig):
  """Kept so TFM YAML loads; TFM 2.20 ships SLIDE as a placeholder only."""
  name: str = 'SLIDE'
  beta_1: float = 0.9
  beta_2: float = 0.999
  epsilon: float = 1e-6
  weight_decay_rate: float = 0.0
  weight_decay_type: str = 'inner'
  exclude_from_weight_decay: Optional[List[str]] = None
  exclude_from_layer_adaptation: Optional[List[str]] = None
  include_in_sparse_layer_adaptation: Optional[List[str]] = None
  sparse_layer_learning_rate: float = 0.1
  do_gradient_rescaling: bool = True
  norm_type: str = 'layer'
  ratio_clip_norm: float = 1e5


@dataclasses.dataclass
class AdafactorConfig(BaseOptimizerConfig):
  """Adafactor (Shazeer & Stern, 2018); see `adafactor.py` for the update rule."""
  name: str = 'Adafactor'
  factored: bool = True
  multiply_by_parameter_scale: bool = True
  beta1: Optional[float] = None
  decay_rate: float = 0.8
  step_offset: int = 0
  clipping_threshold: float = 1.0
  min_dim_size_to_factor: int = 128
  epsilon1: float = 1e-30
  epsilon2: float = 1e-3
  weight_decay: Optional[float] = None
  include_in_weight_decay: Optional[str] = None

  def validate(self):
    super().validate()
    _check_range(self, 'beta1', 0.0, 1.0)
    _check_range(self, 'decay_rate', 0.0, 1.0, high_open=False)
    _check_range(self, 'clipping_threshold', 0.0, _INF, low_open=True)
    _check_range(self, 'min_dim_size_to_factor', 1, _INF)
    _check_range(self, 'step_offset', 0, _INF)


@dataclasses.dataclass
class AdafactorKerasConfig(BaseOptimizerConfig):
  name: str = 'Adafactor'
  learning_rate: float = 0.001
  beta_2_decay: float = -0.8
  epsilon_1: float = 1e-30
  epsilon_2: float = 1e-3
  clip_threshold: float = 1.0
  relative_step: bool = True
