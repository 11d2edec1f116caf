"""Settings of each learning-rate schedule and warmup (TFM 2.20 fields and defaults).

Fields TFM leaves `None` by default are the ones a schedule cannot work
without; `validate()` names them when the schedule is selected, so a missing
`decay_steps` is reported by the config, not by TensorFlow mid-graph.
"""
import dataclasses
from typing import ClassVar, List, Optional, Tuple

from official_like.modeling.hyperparams import Config
from official_like.modeling.hyperparams import ConfigError


@dataclasses.dataclass
class _ScheduleConfig(Config):
  """Checks the fields a schedule cannot do without, declared per class."""
  required: ClassVar[Tuple[str, ...]] = ()
  positive: ClassVar[Tuple[str, ...]] = ()

  def validate(self):
    super().validate()
    for key in self.required:
      if getattr(self, key) is None:
        raise ConfigError((key,), f"is required by the '{self.name}' schedule")
    for key in self.positive:
      value = getattr(self, key)
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
class StepwiseLrConfig(_ScheduleConfig):
  """Piecewise constant: `values[i]` until `boundaries[i]` (len(values) = len(boundaries) + 1)."""
  required = ('boundaries', 'values')
  name: str = 'PiecewiseConstantDecay'
  boundaries: Optional[List[int]] = None
  values: Optional[List[float]] = None
  offset: int = 0

  def validate(self):
    super().validate()
    if len(self.values) != len(self.boundaries) + 1:
      raise ConfigError(('values',), 'must have one more entry than boundaries; '
                        f'got {len(self.values)} values for '
                        f'{len(self.boundaries)} boundaries')
    _increasing(self)


@dataclasses.dataclass
class ExponentialLrConfig(_ScheduleConfig):
  required = ('initial_learning_rate', 'decay_steps', 'decay_rate')
  positive = ('decay_steps',)
  name: str = 'ExponentialDecay'
  initial_learning_rate: Optional[float] = None
  decay_steps: Optional[int] = None
  decay_rate: Optional[float] = None
  staircase: Optional[bool] = None
  offset: int = 0


@dataclasses.dataclass
class PolynomialLrConfig(_ScheduleConfig):
  required = ('initial_learning_rate', 'decay_steps')
  positive = ('decay_steps',)
  name: str = 'PolynomialDecay'
  initial_learning_rate: Optional[float] = None
  decay_steps: Optional[int] = None
  end_learning_rate: float = 0.0001
  power: float = 1.0
  cycle: bool = False
  offset: int = 0


@dataclasses.dataclass
class CosineLrConfig(_ScheduleConfig):
  required = ('initial_learning_rate', 'decay_steps')
  positive = ('decay_steps',)
  name: str = 'CosineDecay'
  initial_learning_rate: Optional[float] = None
  decay_steps: Optional[int] = None
  alpha: float = 0.0
  offset: int = 0


@dataclasses.dataclass
class DirectPowerLrConfig(_ScheduleConfig):
  required = ('initial_learning_rate',)
  name: str = 'DirectPowerDecay'
  initial_learning_rate: Optional[float] = None
  power: float = -0.5


@dataclasses.dataclass
class PowerAndLinearDecayLrConfig(_ScheduleConfig):
  required = ('initial_learning_rate', 'total_decay_steps')
  positive = ('total_decay_steps',)
  name: str = 'PowerAndLinearDecay'
  initial_learning_rate: Optional[float] = None
  total_decay_steps: Optional[int] = None
  power: float = -0.5
  linear_decay_fraction: float = 0.1
  offset: int = 0

  def validate(self):
    super().validate()
    if not 0.0 <= self.linear_decay_fraction <= 1.0:
      raise ConfigError(('linear_decay_fraction',),
                        f'must be in [0, 1], got {self.linear_decay_fraction}')


@dataclasses.dataclass
class PowerDecayWithOffsetLrConfig(_ScheduleConfig):
  required = ('initial_learning_rate',)
  name: str = 'PowerDecayWithOffset'
  initial_learning_rate: Optional[float] = None
  power: float = -0.5
  offset: int = 0
  pre_offset_learning_rate: float = 1.0e6


@dataclasses.dataclass
class StepCosineLrConfig(_ScheduleConfig):
  """Cosine segments: from `values[i]` at `boundaries[i]` towards `values[i + 1]`."""
  required = ('boundaries', 'values')
  name: str = 'StepCosineDecayWithOffset'
  boundaries: Optional[List[int]] = None
  values: Optional[List[float]] = None
  offset: int = 0

  def validate(self):
    super().validate()
    if not self.values or len(self.values) != len(self.boundaries):
      raise ConfigError(('values',), 'must be non-empty and have as many entries '
                        f'as boundaries; got {len(self.values)} values for '
                        f'{len(self.boundaries)} boundaries')
    _increasing(self)


@dataclasses.dataclass
class _WarmupConfig(_ScheduleConfig):
  """Shared rule: a warmup needs a non-negative number of steps."""
  required = ('warmup_steps',)

  def validate(self):
    super().validate()
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
