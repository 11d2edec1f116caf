"""Settings of each learning-rate schedule and warmup (TFM 2.20 fields and defaults).

Fields TFM leaves `None` by default are the ones a schedule cannot work
without; `validate()` names them when the schedule is selected, so a missing
`decay_steps` is reported by the config, not by TensorFlow mid-graph.
"""
import dataclasses
from typing import ClassVar, List, Optional, Tuple

from official_like.modeling.hyperparams import Config
from official_like.modeling.optimization.configs import rules


@dataclasses.dataclass
class _ScheduleConfig(Config):
  """Checks the fields a schedule cannot do without, declared per class.

  A length named `...decay_steps` may be -1 (`rules.TRAIN_STEPS`): "end
  with the run", replaced by a number before training (`lr_resolution`).
  """
  required: ClassVar[Tuple[str, ...]] = ()
  positive: ClassVar[Tuple[str, ...]] = ()

  def validate(self):
    super().validate()
    rules.require(self, f"the '{self.name}' schedule")
    for key in self.positive:
      rules.positive_or_train_steps(key, getattr(self, key))


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
    rules.piecewise(self.boundaries, self.values)


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
    rules.unit_interval('linear_decay_fraction', self.linear_decay_fraction)


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
    rules.step_cosine(self.boundaries, self.values)


@dataclasses.dataclass
class _WarmupConfig(_ScheduleConfig):
  """Shared rule: a warmup needs a non-negative number of steps."""
  required = ('warmup_steps',)

  def validate(self):
    super().validate()
    rules.in_range('warmup_steps', self.warmup_steps, 0)


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
