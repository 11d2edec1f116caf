"""`OptimizationConfig`: which optimizer, which schedule, which warmup, EMA or not.

Built exactly as on TFM's optimization page:
`OptimizationConfig({'optimizer': {'type': 'sgd', ...}, 'learning_rate': ...})`.
Every override checks the selected components that are complete, so a wrong
value is reported where it was written. What a config may still lack -- a
schedule's required fields, or `optimizer` and `learning_rate` themselves --
is only demanded by `validate()` (the factory calls it): TFM configs are
often built from defaults like `{'polynomial': {}}` and filled in by later
overrides.
"""
import dataclasses
from typing import ClassVar, Optional, Tuple

from official_like.modeling.hyperparams import Config
from official_like.modeling.hyperparams import ConfigError
from official_like.modeling.hyperparams import OneOfConfig
from official_like.modeling.hyperparams.errors import suggestion
from official_like.modeling.hyperparams.errors import under
from official_like.modeling.optimization.configs import learning_rate_config as lr_cfg
from official_like.modeling.optimization.configs import learning_rate_modern_config as lr_modern
from official_like.modeling.optimization.configs import optimizer_config as opt_cfg
from official_like.modeling.optimization.configs import optimizer_modern_config as opt_modern
from official_like.modeling.optimization.configs import rules


def _field(cls):
  return dataclasses.field(default_factory=cls)


@dataclasses.dataclass
class OptimizerConfig(OneOfConfig):
  """One of the optimizers; `type` selects which settings are used."""
  type: Optional[str] = None
  sgd: opt_cfg.SGDConfig = _field(opt_cfg.SGDConfig)
  sgd_experimental: opt_cfg.SGDExperimentalConfig = _field(opt_cfg.SGDExperimentalConfig)
  adam: opt_cfg.AdamConfig = _field(opt_cfg.AdamConfig)
  adam_experimental: opt_cfg.AdamExperimentalConfig = _field(opt_cfg.AdamExperimentalConfig)
  adamw: opt_cfg.AdamWeightDecayConfig = _field(opt_cfg.AdamWeightDecayConfig)
  adamw_experimental: opt_cfg.AdamWeightDecayExperimentalConfig = _field(
      opt_cfg.AdamWeightDecayExperimentalConfig)
  lamb: opt_cfg.LAMBConfig = _field(opt_cfg.LAMBConfig)
  rmsprop: opt_cfg.RMSPropConfig = _field(opt_cfg.RMSPropConfig)
  lars: opt_cfg.LARSConfig = _field(opt_cfg.LARSConfig)
  adagrad: opt_cfg.AdagradConfig = _field(opt_cfg.AdagradConfig)
  slide: opt_cfg.SLIDEConfig = _field(opt_cfg.SLIDEConfig)
  adafactor: opt_cfg.AdafactorConfig = _field(opt_cfg.AdafactorConfig)
  adafactor_keras: opt_cfg.AdafactorKerasConfig = _field(opt_cfg.AdafactorKerasConfig)
  # Ours, not TFM's (after TFM's choices, so its field order is kept).
  nadam: opt_modern.NadamConfig = _field(opt_modern.NadamConfig)
  adamax: opt_modern.AdamaxConfig = _field(opt_modern.AdamaxConfig)
  lion: opt_modern.LionConfig = _field(opt_modern.LionConfig)
  adan: opt_modern.AdanConfig = _field(opt_modern.AdanConfig)

  def validate(self):
    super().validate()
    if self.type == 'slide':
      raise ConfigError(('type',), "'slide' is only a placeholder in TFM 2.20 and is "
                        'not implemented; choose another optimizer')


@dataclasses.dataclass
class LrConfig(OneOfConfig):
  """One of the learning-rate schedules."""
  type: Optional[str] = None
  constant: lr_cfg.ConstantLrConfig = _field(lr_cfg.ConstantLrConfig)
  stepwise: lr_cfg.StepwiseLrConfig = _field(lr_cfg.StepwiseLrConfig)
  exponential: lr_cfg.ExponentialLrConfig = _field(lr_cfg.ExponentialLrConfig)
  polynomial: lr_cfg.PolynomialLrConfig = _field(lr_cfg.PolynomialLrConfig)
  cosine: lr_cfg.CosineLrConfig = _field(lr_cfg.CosineLrConfig)
  power: lr_cfg.DirectPowerLrConfig = _field(lr_cfg.DirectPowerLrConfig)
  power_linear: lr_cfg.PowerAndLinearDecayLrConfig = _field(
      lr_cfg.PowerAndLinearDecayLrConfig)
  power_with_offset: lr_cfg.PowerDecayWithOffsetLrConfig = _field(
      lr_cfg.PowerDecayWithOffsetLrConfig)
  step_cosine_with_offset: lr_cfg.StepCosineLrConfig = _field(lr_cfg.StepCosineLrConfig)
  # Ours, not TFM's (after TFM's choices, so its field order is kept).
  wsd: lr_modern.WsdLrConfig = _field(lr_modern.WsdLrConfig)
  cosine_restarts: lr_modern.CosineRestartsLrConfig = _field(
      lr_modern.CosineRestartsLrConfig)
  inverse_sqrt: lr_modern.InverseSqrtLrConfig = _field(lr_modern.InverseSqrtLrConfig)
  one_cycle: lr_modern.OneCycleLrConfig = _field(lr_modern.OneCycleLrConfig)
  linear: lr_modern.LinearLrConfig = _field(lr_modern.LinearLrConfig)


@dataclasses.dataclass
class WarmupConfig(OneOfConfig):
  """One of the warmups (optional: `type: null` means no warmup)."""
  type: Optional[str] = None
  linear: lr_cfg.LinearWarmupConfig = _field(lr_cfg.LinearWarmupConfig)
  polynomial: lr_cfg.PolynomialWarmupConfig = _field(lr_cfg.PolynomialWarmupConfig)


SCALING_RULES = ('linear', 'sqrt')


@dataclasses.dataclass
class LearningRateScalingConfig(Config):
  """Rates written for `base_batch_size`, scaled to the run's global train batch.

  Changing the batch usually means changing the rate; this block does it
  from one number. `linear` multiplies every absolute rate of the schedule
  and the warmup by `batch / base_batch_size` (Goyal et al. 2017, SGD);
  `sqrt` by its square root (often preferred for Adam-type optimizers).
  Relative settings (`alpha`, `div_factor`, ...) are left alone.

  The rates are rewritten before training (see `lr_resolution`), so
  params.yaml shows the ones used. `resolved_batch_size` is filled in then:
  the batch the rates already are scaled for. Resolving again (a resumed
  run, or params.yaml given back as `--config_file`) therefore scales only
  by the change of batch, never twice. Leave it unset when writing a config.
  """
  required: ClassVar[Tuple[str, ...]] = ('base_batch_size',)
  type: str = 'linear'
  base_batch_size: Optional[int] = None
  resolved_batch_size: Optional[int] = None

  def validate(self):
    super().validate()
    rules.require(self, 'learning_rate_scaling')
    rules.one_of('type', self.type, SCALING_RULES, 'types')
    rules.positive('base_batch_size', self.base_batch_size)
    rules.positive('resolved_batch_size', self.resolved_batch_size)


@dataclasses.dataclass
class OptimizationConfig(Config):
  """Optimizer + learning-rate schedule + optional warmup + optional EMA.

  `learning_rate_scaling` is ours, not TFM's; when unset (the default) it is
  left out of `as_dict()`, so TFM configs and their dicts stay identical.
  """
  optimizer: OptimizerConfig = _field(OptimizerConfig)
  ema: Optional[opt_cfg.EMAConfig] = None
  learning_rate: LrConfig = _field(LrConfig)
  warmup: WarmupConfig = _field(WarmupConfig)
  learning_rate_scaling: Optional[LearningRateScalingConfig] = None

  def as_dict(self):
    params = super().as_dict()
    if params.get('learning_rate_scaling', 0) is None:
      del params['learning_rate_scaling']
    return params

  def _check_override(self):
    for name in ('optimizer', 'learning_rate', 'warmup', 'ema',
                 'learning_rate_scaling'):
      part = getattr(self, name)
      chosen = part.get() if isinstance(part, OneOfConfig) else part
      if chosen is not None and not rules.missing(chosen):
        with under(name):
          part.validate()

  def check_complete(self):
    """Raises unless both an optimizer and a schedule are chosen.

    What building an optimizer needs: the factory and a training run call
    it. `validate()` accepts a config without them, as TFM's does (TFM's
    model zoo validates experiment configs that only export or evaluate).
    """
    for name in ('optimizer', 'learning_rate'):
      oneof = getattr(self, name)
      if oneof.type is None:
        raise ConfigError((name, 'type'), 'must be set; '
                          f"{suggestion('', oneof.options(), 'types')}")
