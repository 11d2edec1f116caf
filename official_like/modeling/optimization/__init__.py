"""The optimization package: configs, schedules, optimizers and their factory.

    from official_like.modeling import optimization
    factory = optimization.OptimizerFactory(optimization.OptimizationConfig(params))
    optimizer = factory.build_optimizer(factory.build_learning_rate())

The configs are imported at once and need no TensorFlow, so experiment
definitions and YAML tooling load fast and run where TF is absent. Every
name that needs TensorFlow (the factory, schedules, optimizers, registration)
is imported on first access (PEP 562), e.g. `optimization.OptimizerFactory`
or `from official_like.modeling.optimization import LinearWarmup`.
"""
import importlib

from official_like.modeling.optimization.configs.learning_rate_config import *  # pylint: disable=wildcard-import
from official_like.modeling.optimization.configs.learning_rate_modern_config import *  # pylint: disable=wildcard-import
from official_like.modeling.optimization.configs.optimization_config import *  # pylint: disable=wildcard-import
from official_like.modeling.optimization.configs.optimizer_config import *  # pylint: disable=wildcard-import
from official_like.modeling.optimization.configs.optimizer_modern_config import *  # pylint: disable=wildcard-import

_LAZY = {
    'optimizer_factory': ('OptimizerFactory', 'register_optimizer_cls'),
    'registry': ('register_optimizer', 'register_learning_rate',
                 'register_warmup'),
    'ema_optimizer': ('ExponentialMovingAverage',),
    'lr_schedule': (
        'ConstantLearningRate', 'PiecewiseConstantDecayWithOffset',
        'PolynomialDecayWithOffset', 'ExponentialDecayWithOffset',
        'CosineDecayWithOffset', 'DirectPowerDecay', 'PowerAndLinearDecay',
        'PowerDecayWithOffset', 'StepCosineDecayWithOffset', 'LinearWarmup',
        'PolynomialWarmUp'),
    'lr_schedule_modern': (
        'StableDecayWithOffset', 'CosineDecayRestartsWithOffset',
        'InverseSqrtDecayWithOffset', 'OneCycleWithOffset',
        'LinearDecayWithOffset'),
    'lion': ('Lion',),
    'nadam': ('Nadam',),
    'adan': ('Adan',),
    'schedule_facts': ('ScheduleFacts',),
}
_HOME = {name: module for module, names in _LAZY.items() for name in names}
_SUBMODULES = ('adafactor', 'adan', 'elementwise_optimizer', 'ema_optimizer',
               'lamb', 'lars', 'legacy_adamw', 'lion', 'lr_schedule',
               'lr_schedule_modern', 'nadam', 'optimizer_factory', 'registry',
               'schedule_facts')


def __getattr__(name):
  if name in _SUBMODULES:
    return importlib.import_module(f'{__name__}.{name}')
  if name in _HOME:
    value = getattr(importlib.import_module(f'{__name__}.{_HOME[name]}'), name)
    globals()[name] = value
    return value
  raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def __dir__():
  return sorted(set(globals()) | set(_HOME) | set(_SUBMODULES))
