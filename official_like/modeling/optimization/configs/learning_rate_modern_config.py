"""Settings of the schedules official_like adds to TFM's (see `lr_schedule_modern`).

TFM 2.20 has none of these; they are what PyTorch, timm and optax users reach
for today. Like TFM's configs, each maps 1:1 onto its schedule's keyword
arguments, the fields a schedule cannot do without default to None and are
demanded by `validate()`, and every value rule lives in `rules` (the schedule
applies the same rule when it is built). A schedule's length is `decay_steps`
wherever it is the whole run (`wsd`, `one_cycle`, `linear`), so tying it to
`train_steps` reads the same for all three.
"""
import dataclasses
from typing import Optional

from official_like.modeling.optimization.configs import rules
from official_like.modeling.optimization.configs.learning_rate_config import _ScheduleConfig


@dataclasses.dataclass
class WsdLrConfig(_ScheduleConfig):
  """Warmup-stable-decay: the peak until the last `decay_fraction` of `decay_steps`."""
  required = ('initial_learning_rate', 'decay_steps')
  positive = ('decay_steps',)
  name: str = 'StableDecay'
  initial_learning_rate: Optional[float] = None
  decay_steps: Optional[int] = None
  decay_fraction: float = 0.1
  decay_shape: str = 'linear'
  alpha: float = 0.0
  offset: int = 0

  def validate(self):
    super().validate()
    rules.non_negative(('initial_learning_rate', self.initial_learning_rate))
    rules.stable_decay(self.decay_fraction, self.decay_shape, self.alpha)


@dataclasses.dataclass
class CosineRestartsLrConfig(_ScheduleConfig):
  """SGDR: cosine periods growing by `t_mul`, peaks shrinking by `m_mul`."""
  required = ('initial_learning_rate', 'first_decay_steps')
  positive = ('first_decay_steps',)
  name: str = 'CosineDecayRestarts'
  initial_learning_rate: Optional[float] = None
  first_decay_steps: Optional[int] = None
  t_mul: float = 2.0
  m_mul: float = 1.0
  alpha: float = 0.0
  offset: int = 0

  def validate(self):
    super().validate()
    rules.non_negative(('initial_learning_rate', self.initial_learning_rate))
    rules.cosine_restarts(self.t_mul, self.m_mul, self.alpha)


@dataclasses.dataclass
class InverseSqrtLrConfig(_ScheduleConfig):
  """The Transformer's rsqrt schedule, peaking at `initial_learning_rate`."""
  required = ('initial_learning_rate', 'warmup_steps')
  positive = ('warmup_steps',)
  name: str = 'InverseSqrtDecay'
  initial_learning_rate: Optional[float] = None
  warmup_steps: Optional[int] = None
  offset: int = 0

  def validate(self):
    super().validate()
    rules.non_negative(('initial_learning_rate', self.initial_learning_rate))


@dataclasses.dataclass
class OneCycleLrConfig(_ScheduleConfig):
  """PyTorch's OneCycleLR: up to `max_learning_rate`, then far below the start."""
  required = ('max_learning_rate', 'decay_steps')
  positive = ('decay_steps', 'div_factor', 'final_div_factor')
  name: str = 'OneCycle'
  max_learning_rate: Optional[float] = None
  decay_steps: Optional[int] = None
  pct_start: float = 0.3
  div_factor: float = 25.0
  final_div_factor: float = 1e4
  anneal_strategy: str = 'cos'
  three_phase: bool = False
  offset: int = 0

  def validate(self):
    super().validate()
    rules.non_negative(('max_learning_rate', self.max_learning_rate))
    rules.one_cycle(self.decay_steps, self.pct_start, self.anneal_strategy,
                    self.three_phase)


@dataclasses.dataclass
class LinearLrConfig(_ScheduleConfig):
  """A straight line to `end_learning_rate` at `decay_steps`, then flat."""
  required = ('initial_learning_rate', 'decay_steps')
  positive = ('decay_steps',)
  name: str = 'LinearDecay'
  initial_learning_rate: Optional[float] = None
  decay_steps: Optional[int] = None
  end_learning_rate: float = 0.0
  offset: int = 0

  def validate(self):
    super().validate()
    rules.non_negative(('initial_learning_rate', self.initial_learning_rate),
                       ('end_learning_rate', self.end_learning_rate))
