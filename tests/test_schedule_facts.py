"""A schedule registered with its facts gets the checks and the preview of a built-in one.

`Halving` (the rate halves every `every` steps until `decay_steps`, then
stays) is registered as a user would, once with `ScheduleFacts` and once
without; the all-zero check, the lint and the preview's key points are asked
through the functions `trainer_main.py` calls.
"""
import dataclasses

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from official_like.lr_tools import lr_preview
from official_like.modeling import optimization
from official_like.modeling.hyperparams import Config
from official_like.modeling.hyperparams import ConfigError
from official_like.modeling.optimization import lr_lint
from official_like.modeling.optimization import lr_resolution
from official_like.modeling.optimization import lr_values
from official_like.modeling.optimization import schedule_facts
from official_like.run import lr_plan


@dataclasses.dataclass
class HalvingConfig(Config):
  name: str = 'Halving'
  initial_learning_rate: float = 0.1
  every: int = 10
  decay_steps: int = 100


class Halving(tf_keras.optimizers.schedules.LearningRateSchedule):

  def __init__(self, initial_learning_rate, every, decay_steps, name):
    self.initial_learning_rate, self.every, self.decay_steps, self.name = (
        initial_learning_rate, every, decay_steps, name)

  def __call__(self, step):
    step = tf.minimum(tf.cast(step, tf.float32), self.decay_steps)
    return self.initial_learning_rate * tf.pow(0.5, tf.math.floordiv(step, self.every))

  def get_config(self):
    return {}


def _halving_rates(c, t):
  return c.initial_learning_rate * np.power(0.5, np.floor(np.minimum(t, c.decay_steps) / c.every))


FACTS = schedule_facts.ScheduleFacts(
    'Halving', _halving_rates, decay_end=lambda c: c.decay_steps,
    key_points=lambda c: [(k * c.every, f'halving {k}') for k in (1, 2)])
optimization.register_learning_rate('halving_facts', HalvingConfig, Halving, facts=FACTS)
optimization.register_learning_rate('halving_bare', HalvingConfig, Halving)


def _config(kind, **schedule):
  return optimization.OptimizationConfig({
      'optimizer': {'type': 'sgd'}, 'learning_rate': {'type': kind, kind: schedule}})


def test_every_built_in_type_has_facts_and_a_title():
  built_in = {f.name for f in dataclasses.fields(optimization.LrConfig)} - {'type'}
  assert built_in <= set(schedule_facts.FACTS)
  assert 'halving_bare' not in schedule_facts.FACTS
  assert all(schedule_facts.facts(kind).title for kind in built_in)


def test_numpy_twin_given_with_the_facts_equals_the_schedule():
  config = _config('halving_facts', every=7)
  steps = np.arange(150)
  expected = optimization.OptimizerFactory(config).build_learning_rate()(steps).numpy()
  np.testing.assert_allclose(lr_values.rates(config, steps), expected, rtol=1e-6)


def test_all_zero_check_needs_the_twin():
  with pytest.raises(ConfigError, match='planned learning rate is 0 at every one of the 50'):
    lr_resolution.check_rate_not_zero(_config('halving_facts', initial_learning_rate=0.0), 50)
  assert lr_values.rates(_config('halving_bare'), [0, 1]) is None
  lr_resolution.check_rate_not_zero(_config('halving_bare', initial_learning_rate=0.0), 50)


@pytest.mark.parametrize('kind, warned', [('halving_facts', True), ('halving_bare', False)])
def test_lint_reads_the_decay_end_from_the_facts(kind, warned):
  config = _config(kind, decay_steps=1000)
  lines = lr_lint.lint(lr_plan.planned_curve(config, 300), summary_interval=10)
  ends = [line for line in lines if 'the decay ends' in line]
  assert ends == ([
      f'trainer.optimizer_config.learning_rate.{kind}.decay_steps=1000: the decay ends at '
      'step 1000, well after trainer.train_steps=300; training stops 30% of the way '
      'through it; set decay_steps: -1 to end it with the run'] if warned else [])


def test_preview_names_the_facts_key_points_and_title():
  config = _config('halving_facts', every=20, decay_steps=80)
  assert lr_preview.key_points(config, 120) == [
      (0, 'start'), (20, 'halving 1'), (40, 'halving 2'), (120, 'end (trainer.train_steps)')]
  assert lr_preview.describe(config) == 'Halving'


def test_without_facts_the_length_field_still_marks_the_decay_end():
  config = _config('halving_bare', every=20, decay_steps=80)
  assert lr_preview.key_points(config, 120) == [
      (0, 'start'), (80, 'decay end'), (120, 'end (trainer.train_steps)')]
  assert lr_preview.describe(config) == 'halving_bare'
  assert {79, 80, 81} <= set(lr_values.breakpoints(config, 120))
