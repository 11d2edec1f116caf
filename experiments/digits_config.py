"""Configs of the handwritten-digit experiments: `digits_mlp` and `digits_cnn`.

TensorFlow-free: registering and checking these configs costs no TensorFlow
import. The Task (`digits.py`) is imported when a run needs it, through
`TASK_MODULE`. Both experiments reach >= 0.95 validation accuracy in well
under a minute on 2 CPU cores.
"""
import dataclasses
from typing import List

from official_like.core import config_definitions as cfg
from official_like.core import exp_factory
from official_like.modeling import optimization
from official_like.modeling.hyperparams import Config
from official_like.modeling.hyperparams import OneOfConfig

from experiments import bundled_config


@dataclasses.dataclass
class MLPConfig(Config):
  hidden_sizes: List[int] = dataclasses.field(default_factory=lambda: [128, 64])
  dropout: float = 0.1


@dataclasses.dataclass
class CNNConfig(Config):
  filters: List[int] = dataclasses.field(default_factory=lambda: [16, 32])
  kernel_size: int = 3
  dense_size: int = 64
  dropout: float = 0.1


@dataclasses.dataclass
class DigitsModelConfig(OneOfConfig):
  type: str = 'mlp'
  mlp: MLPConfig = dataclasses.field(default_factory=MLPConfig)
  cnn: CNNConfig = dataclasses.field(default_factory=CNNConfig)


@dataclasses.dataclass
class DigitsTaskConfig(bundled_config.BundledTaskConfig):
  TASK_MODULE = 'experiments.digits'
  model: DigitsModelConfig = dataclasses.field(default_factory=DigitsModelConfig)
  l2_weight_decay: float = 0.0


def _digits_experiment(model_type: str, learning_rate: float) -> cfg.ExperimentConfig:
  train_steps = 600
  train_data, validation_data = bundled_config.data_configs(64, 120)
  return cfg.ExperimentConfig(
      task=DigitsTaskConfig(model=DigitsModelConfig(type=model_type),
                            train_data=train_data, validation_data=validation_data),
      trainer=cfg.TrainerConfig(
          train_steps=train_steps, steps_per_loop=50, summary_interval=50,
          checkpoint_interval=200, validation_interval=200, max_to_keep=3,
          best_checkpoint_export_subdir='best_ckpt',
          best_checkpoint_eval_metric='accuracy',
          optimizer_config=optimization.OptimizationConfig({
              'optimizer': {'type': 'sgd', 'sgd': {'momentum': 0.9}},
              'learning_rate': {'type': 'cosine', 'cosine': {
                  'initial_learning_rate': learning_rate,
                  'decay_steps': train_steps}},
              'warmup': {'type': 'linear', 'linear': {'warmup_steps': 100}},
          })),
      runtime=cfg.RuntimeConfig(distribution_strategy='one_device', seed=1))


@exp_factory.register_config_factory('digits_mlp')
def digits_mlp() -> cfg.ExperimentConfig:
  """An MLP on the flattened 8x8 digits: SGD+momentum, cosine decay, linear warmup."""
  return _digits_experiment('mlp', learning_rate=0.1)


@exp_factory.register_config_factory('digits_cnn')
def digits_cnn() -> cfg.ExperimentConfig:
  """A two-conv-layer CNN on the 8x8 digits."""
  return _digits_experiment('cnn', learning_rate=0.05)
