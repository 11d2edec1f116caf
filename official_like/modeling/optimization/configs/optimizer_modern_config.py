"""Settings of the optimizers official_like adds to TFM's: nadam, adamax, lion, adan.

TFM 2.20 offers none of them. Each class maps 1:1 onto the keyword arguments
of every class the factory may build for it (legacy API or new Keras, see
`registry`), with the clip fields of `BaseOptimizerConfig` and its rules.
Defaults are the authors' (Lion: Chen et al. 2023; Adan: Xie et al. 2022, in
the decay-rate convention of their reference code) and Keras' for Nadam and
Adamax.
"""
import dataclasses

from official_like.modeling.optimization.configs import rules
from official_like.modeling.optimization.configs.optimizer_config import _AdamMoments
from official_like.modeling.optimization.configs.optimizer_config import BaseOptimizerConfig


@dataclasses.dataclass
class NadamConfig(_AdamMoments):
  """Adam with Nesterov momentum (Dozat 2016), Keras' momentum schedule."""
  name: str = 'Nadam'
  beta_1: float = 0.9
  beta_2: float = 0.999
  epsilon: float = 1e-07


@dataclasses.dataclass
class AdamaxConfig(_AdamMoments):
  """Adam with an infinity-norm second moment (Kingma & Ba 2015, section 7)."""
  name: str = 'Adamax'
  beta_1: float = 0.9
  beta_2: float = 0.999
  epsilon: float = 1e-07


@dataclasses.dataclass
class LionConfig(BaseOptimizerConfig):
  """Sign of an interpolated momentum; decoupled weight decay scaled by lr."""
  name: str = 'Lion'
  beta_1: float = 0.9
  beta_2: float = 0.99
  weight_decay: float = 0.0

  def validate(self):
    super().validate()
    # beta_1 = 0 is signSGD, which Keras' Lion refuses (and its sparse update
    # divides by beta_1).
    rules.in_range('beta_1', self.beta_1, 0.0, 1.0, low_open=True,
                   high_open=False)
    rules.unit_interval('beta_2', self.beta_2)
    rules.in_range('weight_decay', self.weight_decay, 0.0)


@dataclasses.dataclass
class AdanConfig(BaseOptimizerConfig):
  """Adaptive Nesterov momentum: moments of the gradient and of its change."""
  name: str = 'Adan'
  beta_1: float = 0.98
  beta_2: float = 0.92
  beta_3: float = 0.99
  epsilon: float = 1e-08
  weight_decay: float = 0.0

  def validate(self):
    super().validate()
    for key in ('beta_1', 'beta_2', 'beta_3'):
      rules.unit_interval(key, getattr(self, key), high_open=True)
    rules.in_range('epsilon', self.epsilon, 0.0)
    rules.in_range('weight_decay', self.weight_decay, 0.0)
