"""Config of the `diabetes_regression` experiment (the Task is in `diabetes.py`).

TensorFlow-free, like every experiment config here. The target is
standardised on the training split, so losses are in units of the target's
standard deviation.
"""
import dataclasses
from typing import List

from official_like.core import config_definitions as cfg
from official_like.core import exp_factory
from official_like.modeling import optimization
from official_like.modeling.hyperparams import Config

from experiments import bundled_config


@dataclasses.dataclass
class RegressorConfig(Config):
  hidden_sizes: List[int] = dataclasses.field(default_factory=lambda: [32])


@dataclasses.dataclass
class DiabetesTaskConfig(bundled_config.BundledTaskConfig):
  TASK_MODULE = 'experiments.diabetes'
  model: RegressorConfig = dataclasses.field(default_factory=RegressorConfig)


@exp_factory.register_config_factory('diabetes_regression')
def diabetes_regression() -> cfg.ExperimentConfig:
  """A one-hidden-layer regressor trained with Adam and exponential decay."""
  train_data, validation_data = bundled_config.data_configs(32, 96)
  return cfg.ExperimentConfig(
      task=DiabetesTaskConfig(train_data=train_data, validation_data=validation_data),
      trainer=cfg.TrainerConfig(
          train_steps=400, steps_per_loop=20, summary_interval=20,
          checkpoint_interval=100, validation_interval=100,
          best_checkpoint_export_subdir='best_ckpt',
          best_checkpoint_eval_metric='rmse', best_checkpoint_metric_comp='lower',
          optimizer_config=optimization.OptimizationConfig({
              'optimizer': {'type': 'adam'},
              'learning_rate': {'type': 'exponential', 'exponential': {
                  'initial_learning_rate': 0.01, 'decay_steps': 100,
                  'decay_rate': 0.7}},
          })),
      runtime=cfg.RuntimeConfig(distribution_strategy='one_device', seed=1))
