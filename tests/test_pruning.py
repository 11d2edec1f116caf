"""Pruning as a TFM user sets it up: a task config with `pruning`, a tfmot-wrapped model, run_experiment.

`get_train_actions` adds a `PruningAction` for such a task; the kernels
must end at the schedule's final sparsity and the sparsity summaries must
be in model_dir/metrics. Without `pruning`, no action and no summaries.
"""
import dataclasses
from typing import Optional

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_model_optimization as tfmot

from event_files import scalars
from experiments import digits
from experiments import digits_config
from official_like.core import config_definitions as cfg
from official_like.core import exp_factory
from official_like.core import train_lib
from official_like.modeling.hyperparams import Config

STEPS = 60


@dataclasses.dataclass
class PruningConfig(Config):
  final_sparsity: float = 0.5
  end_step: int = 40
  frequency: int = 10


@dataclasses.dataclass
class PrunedDigitsConfig(digits_config.DigitsTaskConfig):
  pruning: Optional[PruningConfig] = None


class PrunedDigitsTask(digits.DigitsClassificationTask):

  def build_model(self):
    model = super().build_model()
    pruning = self.task_config.pruning
    if not pruning:
      return model
    schedule = tfmot.sparsity.keras.PolynomialDecay(
        0.0, pruning.final_sparsity, begin_step=0, end_step=pruning.end_step,
        frequency=pruning.frequency)
    return tfmot.sparsity.keras.prune_low_magnitude(model, pruning_schedule=schedule)


def run(model_dir, pruning, train_steps=STEPS):
  base = exp_factory.get_exp_config('digits_mlp')
  task_config = PrunedDigitsConfig(**base.task.as_dict())
  task_config.pruning = pruning
  params = cfg.ExperimentConfig(task=task_config, trainer=base.trainer, runtime=base.runtime)
  params.override({'trainer': {'train_steps': train_steps, 'steps_per_loop': 20,
                               'summary_interval': 20, 'validation_interval': STEPS}})
  strategy = tf.distribute.get_strategy()
  with strategy.scope():
    task = PrunedDigitsTask(params.task)
  model, _ = train_lib.run_experiment(distribution_strategy=strategy, task=task,
                                      mode='train', params=params, model_dir=str(model_dir))
  return model


def kernels(model):
  return [w.numpy() for w in model.trainable_weights if 'kernel' in w.name]


@pytest.mark.parametrize('resumed', [False, True])
def test_pruned_run_ends_at_the_final_sparsity_and_logs_it(tmp_path, resumed):
  if resumed:  # Stopped at step 20, in the middle of the schedule, then resumed.
    run(tmp_path, PruningConfig(final_sparsity=0.5), train_steps=20)
  model = run(tmp_path, PruningConfig(final_sparsity=0.5))
  pruned = kernels(model)
  assert len(pruned) == 3
  for kernel in pruned:
    assert np.mean(kernel == 0) == pytest.approx(0.5, abs=1.0 / kernel.size + 1e-6)
  logged = scalars(str(tmp_path / 'metrics'))
  # Layer names (hence tags) of a model built again in this process differ.
  sparsity = {tag: values for tag, values in logged.items()
              if tag.endswith('/sparsity') and STEPS in values}
  assert len(sparsity) == 3
  for values in sparsity.values():
    assert {40, 60} <= set(values) and (resumed or sorted(values) == [20, 40, 60])
    assert values[STEPS] == pytest.approx(0.5, abs=0.01)


def test_no_pruning_no_action(tmp_path):
  model = run(tmp_path, None)
  assert all(np.mean(k == 0) < 0.01 for k in kernels(model))
  assert not (tmp_path / 'metrics').exists()
