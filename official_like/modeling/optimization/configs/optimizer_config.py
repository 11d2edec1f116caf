"""Settings of each optimizer: TFM 2.20's field names, types and defaults.

Each class maps 1:1 onto the keyword arguments of its optimizer's
constructor, so a TFM optimization YAML loads unchanged and the factory can
pass `config.as_dict()` straight through. The regex-list fields also take a
single string, as TFM's ViT configs write them; see `_names` for matching.
"""
import dataclasses
from typing import List, Optional, Union

from official_like.modeling.hyperparams import Config
from official_like.modeling.optimization.configs import rules

_Patterns = Optional[Union[str, List[str]]]


@dataclasses.dataclass
class BaseOptimizerConfig(Config):
  """Gradient clipping shared by every optimizer (Keras' rules, see `rules`).

  Also compiles every regex-list field, so a bad pattern is reported with its
  key instead of failing inside the first training step.
  """
  clipnorm: Optional[float] = None
  clipvalue: Optional[float] = None
  global_clipnorm: Optional[float] = None

  def validate(self):
    super().validate()
    rules.clip_options(self.clipnorm, self.clipvalue, self.global_clipnorm)
    for key, hint in self.field_types().items():
      if hint == _Patterns:
        rules.regex_patterns(key, getattr(self, key))


@dataclasses.dataclass
class SGDConfig(BaseOptimizerConfig):
  name: str = 'SGD'
  decay: float = 0.0
  nesterov: bool = False
  momentum: float = 0.0

  def validate(self):
    super().validate()
    rules.unit_interval('momentum', self.momentum)
    rules.in_range('decay', self.decay, 0.0)


@dataclasses.dataclass
class SGDExperimentalConfig(BaseOptimizerConfig):
  name: str = 'SGD'
  nesterov: bool = False
  momentum: float = 0.0
  jit_compile: bool = False

  def validate(self):
    super().validate()
    rules.unit_interval('momentum', self.momentum)


@dataclasses.dataclass
class RMSPropConfig(BaseOptimizerConfig):
  name: str = 'RMSprop'
  rho: float = 0.9
  momentum: float = 0.0
  epsilon: float = 1e-7
  centered: bool = False

  def validate(self):
    super().validate()
    rules.unit_interval('rho', self.rho)
    rules.unit_interval('momentum', self.momentum)


@dataclasses.dataclass
class AdagradConfig(BaseOptimizerConfig):
  name: str = 'Adagrad'
  initial_accumulator_value: float = 0.1
  epsilon: float = 1e-07

  def validate(self):
    super().validate()
    rules.in_range('initial_accumulator_value', self.initial_accumulator_value, 0.0)


@dataclasses.dataclass
class _AdamMoments(BaseOptimizerConfig):
  """Validation shared by the Adam family (betas in [0, 1), epsilon >= 0)."""

  def validate(self):
    super().validate()
    rules.unit_interval('beta_1', self.beta_1, high_open=True)
    rules.unit_interval('beta_2', self.beta_2, high_open=True)
    rules.in_range('epsilon', self.epsilon, 0.0)


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
  include_in_weight_decay: _Patterns = None
  exclude_from_weight_decay: _Patterns = None
  gradient_clip_norm: float = 1.0

  def validate(self):
    super().validate()
    rules.in_range('weight_decay_rate', self.weight_decay_rate, 0.0)
    rules.in_range('gradient_clip_norm', self.gradient_clip_norm, 0.0)


@dataclasses.dataclass
class AdamWeightDecayExperimentalConfig(AdamConfig):
  global_clipnorm: Optional[float] = 1.0
  name: str = 'AdamWeightDecayExperimental'
  weight_decay: float = 0.0
  jit_compile: bool = False

  def validate(self):
    super().validate()
    rules.in_range('weight_decay', self.weight_decay, 0.0)


@dataclasses.dataclass
class LAMBConfig(_AdamMoments):
  name: str = 'LAMB'
  beta_1: float = 0.9
  beta_2: float = 0.999
  epsilon: float = 1e-6
  weight_decay_rate: float = 0.0
  exclude_from_weight_decay: _Patterns = None
  exclude_from_layer_adaptation: _Patterns = None

  def validate(self):
    super().validate()
    rules.in_range('weight_decay_rate', self.weight_decay_rate, 0.0)


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
    rules.unit_interval('average_decay', self.average_decay)
    rules.in_range('start_step', self.start_step, 0)


@dataclasses.dataclass
class LARSConfig(BaseOptimizerConfig):
  name: str = 'LARS'
  momentum: float = 0.9
  eeta: float = 0.001
  weight_decay_rate: float = 0.0
  nesterov: bool = False
  classic_momentum: bool = True
  exclude_from_weight_decay: _Patterns = None
  exclude_from_layer_adaptation: _Patterns = None

  def validate(self):
    super().validate()
    rules.unit_interval('momentum', self.momentum)
    rules.in_range('weight_decay_rate', self.weight_decay_rate, 0.0)


@dataclasses.dataclass
class SLIDEConfig(BaseOptimizerConfig):
  """Kept so TFM YAML loads; TFM 2.20 ships SLIDE as a placeholder only."""
  name: str = 'SLIDE'
  beta_1: float = 0.9
  beta_2: float = 0.999
  epsilon: float = 1e-6
  weight_decay_rate: float = 0.0
  weight_decay_type: str = 'inner'
  exclude_from_weight_decay: _Patterns = None
  exclude_from_layer_adaptation: _Patterns = None
  include_in_sparse_layer_adaptation: _Patterns = None
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
  include_in_weight_decay: _Patterns = None

  def validate(self):
    super().validate()
    rules.unit_interval('beta1', self.beta1, high_open=True)
    rules.unit_interval('decay_rate', self.decay_rate)
    rules.positive('clipping_threshold', self.clipping_threshold)
    rules.in_range('min_dim_size_to_factor', self.min_dim_size_to_factor, 1)
    rules.in_range('step_offset', self.step_offset, 0)


@dataclasses.dataclass
class AdafactorKerasConfig(BaseOptimizerConfig):
  name: str = 'Adafactor'
  learning_rate: float = 0.001
  beta_2_decay: float = -0.8
  epsilon_1: float = 1e-30
  epsilon_2: float = 1e-3
  clip_threshold: float = 1.0
  relative_step: bool = True
