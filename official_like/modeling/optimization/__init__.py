"""The optimization package: configs, schedules, optimizers and their factory.

    from official_like.modeling import optimization
    factory = optimization.OptimizerFactory(optimization.OptimizationConfig(params))
    optimizer = factory.build_optimizer(factory.build_learning_rate())
"""
from official_like.modeling.optimization.configs.learning_rate_config import *  # pylint: disable=wildcard-import
from official_like.modeling.optimization.configs.optimization_config import *  # pylint: disable=wildcard-import
from official_like.modeling.optimization.configs.optimizer_config import *  # pylint: disable=wildcard-import
from official_like.modeling.optimization.optimizer_factory import OptimizerFactory
from official_like.modeling.optimization.registry import register_learning_rate
from official_like.modeling.optimization.registry import register_optimizer
from official_like.modeling.optimization.registry import register_warmup
