"""Settings of each learning-rate schedule and warmup (TFM 2.20 fields and defaults).

Fields TFM leaves `None` by default are the ones a schedule cannot work
without; `validate()` names them when the schedule is selected, so a missing
`decay_steps` is reported by the config, not by TensorFlow mid-graph.
"""
import dataclasses
from typing import List, Optional

from official_like.modeling.hyperparams import Config
from official_like.modeling.hyperparams import ConfigError


def _require(config: Config, *keys: str) -> None:
  for key in keys:
    if getattr(config, key) is None:
      raise ConfigError((key,), f"is required by the '{config.name}' schedule")


def _positive(config: Config, *keys: str) -> None:
  for key in keys:
    value = getattr(config, key)
    if value is not None and value <= 0:
      raise ConfigError((key,), f'must be > 0, got {value}')


def _increasing(config: Config) -> None:
  b = config.boundaries
  for i in range(1, len(b)):
    if b[i] <= b[i - 1]:
      raise ConfigError(('boundaries',), f'must be strictly increasing; '
                        f'boundaries[{i}]={b[i]} <= boundaries[{i - 1}]={b[i - 1]} in {b}')


@dataclasses.dataclass
class ConstantLrConfig(Config):
  name: str = 'Constant'
  learning_rate: float = 0.1


@dataclasses.dataclass
class StepwiseLrConfig(Config):
  """Piecewise constant: `values[i]` until `boundaries[i]` (len(values) = len(boundaries) + 1)."""
  name: str = 'PiecewiseConstantDecay'
  boundaries: Optional[List[int]] = None
  values: Optional[List[float]] = None
  offset: int = 0

  def validate(self):
    super().validate()
    _require(self, 'boundaries', 'values')
    if len(self.values) != len(self.boundaries) + 1:
      raise ConfigError(('values',), 'must have one more entry than boundaries; '
                        f'got {len(self.values)} values for '
                        f'{len(self.boundaries)} boundaries')
    _increasing(self)


@dataclasses.dataclass
class ExponentialLrConfig(Config):
  name: str = 'ExponentialDecay'
  initial_learning_rate: Optional[float] = None
  decay_steps: Optional[int] = None
  decay_rate: Optional[float] = None
  staircase: Optional[bool] = None
  offset: int = 0

  def validate(self):
    super().validate()
    _require(self, 'initial_learning_rate', 'decay_steps', 'decay_rate')
    _positive(self, 'decay_steps')


@dataclasses.dataclass
class PolynomialLrConfig(Config):
  name: str = 'PolynomialDecay'
  initial_learning_rate: Optional[float] = None
  decay_steps: Optional[int] = None
  end_learning_rate: float = 0.0001
  power: float = 1.0
  cycle: bool = False
  offset: int = 0

  def validate(self):
    super().validate()
    _require(self, 'initial_learning_rate', 'decay_steps')
    _positive(self, 'decay_steps')


@dataclasses.dataclass
class CosineLrConfig(Config):
  name: str = 'CosineDecay'
  initial_learning_rate: Optional[float] = None
  decay_steps: Optional[int] = None
  alpha: float = 0.0
  offset: int = 0

  def validate(self):
    super().validate()
    _require(self, 'initial_learning_rate', 'decay_steps')
    _positive(self, 'decay_steps')


@dataclasses.dataclass
class DirectPowerLrConfig(Config):
  name: str = 'DirectPowerDecay'
  initial_learning_rate: Optional[float] = None
  power: float = -0.5

  def validate(self):
    super().validate()
    _require(self, 'initial_learning_rate')


@dataclasses.dataclass
class PowerAndLinearDecayLrConfig(Config):
  name: str = 'PowerAndLinearDecay'
  initial_learning_rate: Optional[float] = None
  total_decay_steps: Optional[int] = None
  power: float = -0.5
  linear_decay_fraction: float = 0.1
  offset: int = 0

  def validate(self):
    super().validate()
    _require(self, 'initial_learning_rate', 'total_decay_steps')
    _positive(self, 'total_decay_steps')
    if not 0.0 <= self.linear_decay_fraction <= 1.0:
      raise ConfigError(('linear_decay_fraction',),
                        f'must be in [0, 1], got {self.linear_decay_fraction}')


@dataclasses.dataclass
class PowerDecayWithOffsetLrConfig(Config):
  name: str = 'PowerDecayWithOffset'
  initial_learning_rate: Optional[float] = None
  power: float = -0.5
  offset: int = 0
  pre_offset_learning_rate: float = 1.0e6

  def validate(self):
    super().validate()
    _require(self, 'initial_learning_rate')


@dataclasses.dataclass
class StepCosineLrConfig(Config):
  """Cosine segments: from `values[i]` at `boundaries[i]` towards `values[i + 1]`."""
  name: str = 'StepCosineDecayWithOffset'
  boundaries: Optional[List[int]] = None
  values: Optional[List[float]] = None
  offset: int = 0

  def validate(self):
    super().validate()
    _require(self, 'boundaries', 'values')
    if not self.values or len(self.values) != len(self.boundaries):
      raise ConfigError(('values',), 'must be non-empty and have as many entries '
                        f'as boundaries; got {len(self.values)} values for '
                        f'{len(self.boundaries)} boundaries')
    _increasing(self)


@dataclasses.dataclass
class _WarmupConfig(Config):
  """Shared rule: a warmup needs a non-negative number of steps."""

  def validate(self):
    super().validate()
    _require(self, 'warmup_steps')
    if self.warmup_steps < 0:
      raise ConfigError(('warmup_steps',), f'must be >= 0, got {self.warmup_steps}')


@dataclasses.dataclass
class LinearWarmupConfig(_WarmupConfig):
  """Linear ramp from `warmup_learning_rate` to the schedule's lr(warmup_steps)."""
  name: str = 'linear'
  warmup_learning_rate: float = 0
  warmup_steps: Optional[int] = None


@dataclasses.dataclass
class PolynomialWarmupConfig(_WarmupConfig):
  """(step / warmup_steps) ** power times the schedule's lr(warmup_steps)."""
  name: str = 'polynomial'
  power: float = 1
  warmup_steps: Optional[int] = None
