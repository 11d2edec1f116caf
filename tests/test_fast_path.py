"""The Trainer's fast path buys speed only: the same losses and the same weights.

`Trainer.train_loop_end` computes the loop-end logs (metric results, their
reset, lr) in one `tf.function` call instead of a few dozen eager ops from
the second loop on (bench/README.md says what that buys). Here one seeded
digits config is trained through `train_lib.run_experiment` as
trainer_main.py calls it, and
the same config through Orbit's plain path - once as our Trainer with the
eager loop end, once as a textbook `orbit.StandardTrainer` running
`strategy.run(task.train_step)` on tf.distribute's dataset - and the per-loop
logs and final weights must agree to a fixed tolerance, under the default
and the one_device strategy. Against our eager loop end the weights must be
bit for bit equal: the train loop's graph is Orbit's in both.

Why the loop end is a function of its own rather than appended to Orbit's
train-loop graph: Grappler's constant folding then treats the schedule in
the loop body differently, and the weights drift by an ulp from step 11 on.
"""
import numpy as np
import orbit
import pytest
import tensorflow as tf
import tf_keras

import experiments  # noqa: F401  (registers the experiments)
from official_like.common import distribute_utils
from official_like.core import base_trainer
from official_like.core import exp_factory
from official_like.core import task_factory
from official_like.core import train_lib
from official_like.core import train_utils
from official_like.run import seeding

STEPS, PER_LOOP, SEED = 30, 5, 7
RTOL, ATOL = 1e-6, 1e-7


def seeded_params():
  """digits_mlp shrunk to 6 loops of 5 steps, with dropout and a seed."""
  params = exp_factory.get_exp_config('digits_mlp')
  params.override({
      'trainer': {'train_steps': STEPS, 'steps_per_loop': PER_LOOP,
                  'summary_interval': 2 * PER_LOOP, 'checkpoint_interval': STEPS,
                  'optimizer_config': {
                      'learning_rate': {'cosine': {'decay_steps': STEPS}},
                      'warmup': {'linear': {'warmup_steps': 10}}}},
      'runtime': {'seed': SEED}})
  return params


class LoopLogs:
  """A train action keeping every loop's logs as floats."""

  def __init__(self):
    self.loops = []

  def __call__(self, output):
    self.loops.append({key: float(orbit.utils.get_value(value))
                       for key, value in output.items()})


class OrbitLoopTrainer(base_trainer.Trainer):
  """Our Trainer with Orbit's plain per-loop work: the loop end runs eagerly."""

  def train_loop_end(self):
    return self._loop_end_logs()


class TextbookTrainer(orbit.StandardTrainer):
  """Orbit's plain recipe: strategy.run(task.train_step) on a distributed dataset.

  Built in the order `train_utils.create_trainer` builds, under the same
  seed, so the initial weights, dropout generators and batches are the same.
  """

  def __init__(self, params, task, strategy):
    self.strategy, self.task = strategy, task
    with strategy.scope(), seeding.seeded(params.runtime.seed):
      self.model = task.build_model()
      self.optimizer = train_utils.create_optimizer(task, params)
      self.global_step = orbit.utils.create_global_step()
      self.loss = tf_keras.metrics.Mean('training_loss')
      self.metrics = task.build_metrics(training=True)
      data = seeding.with_data_seed(params.task.train_data, params.runtime.seed)
      dataset = strategy.distribute_datasets_from_function(
          lambda context: task.build_inputs(data, context))
      seeding.random_generators(self.model)  # Created now, as the Trainer does.
    super().__init__(dataset)

  def train_step(self, iterator):
    def step_fn(inputs):
      logs = self.task.train_step(inputs, model=self.model, optimizer=self.optimizer,
                                  metrics=self.metrics)
      self.loss.update_state(logs[self.task.loss])
      self.global_step.assign_add(1)
    self.strategy.run(step_fn, args=(next(iterator),))

  def train_loop_end(self):
    logs = {}
    for metric in self.metrics + [self.loss]:
      logs[metric.name] = metric.result()
      metric.reset_states()
    logs['learning_rate'] = base_trainer.learning_rate_at(self.optimizer, self.global_step)
    return logs


def strategy_named(name):
  return distribute_utils.get_distribution_strategy(distribution_strategy=name)


def run_experiment(strategy_name, model_dir, trainer_cls=None):
  """(loop logs, final weights, eager loop ends) of run_experiment, as trainer_main.py runs it."""
  params = seeded_params()
  strategy = strategy_named(strategy_name)
  with strategy.scope():
    task = task_factory.get_task(params.task, logging_dir=str(model_dir))
  trainer = None
  if trainer_cls:
    with strategy.scope():
      trainer = train_utils.create_trainer(params, task, train=True, evaluate=False,
                                           trainer_cls=trainer_cls)
  logs = LoopLogs()
  eager_ends = []
  original = base_trainer.Trainer._loop_end_logs

  def counted(self):
    if tf.executing_eagerly():
      eager_ends.append(int(self.global_step.numpy()))
    return original(self)
  base_trainer.Trainer._loop_end_logs = counted
  try:
    model, _ = train_lib.run_experiment(strategy, task, 'train', params, str(model_dir),
                                        train_actions=[logs], trainer=trainer)
  finally:
    base_trainer.Trainer._loop_end_logs = original
  return logs.loops, model.get_weights(), eager_ends


def run_textbook(strategy_name):
  params = seeded_params()
  strategy = strategy_named(strategy_name)
  task = task_factory.get_task(params.task)
  trainer = TextbookTrainer(params, task, strategy)
  logs = LoopLogs()
  controller = orbit.Controller(strategy=strategy, trainer=trainer,
                                global_step=trainer.global_step,
                                steps_per_loop=PER_LOOP, train_actions=[logs])
  with strategy.scope():
    controller.train(STEPS)
  return logs.loops, trainer.model.get_weights()


def assert_same(actual, expected, exact_weights=False):
  (loops, weights), (expected_loops, expected_weights) = actual, expected
  assert len(loops) == len(expected_loops) == STEPS // PER_LOOP
  for step, (got, want) in enumerate(zip(loops, expected_loops), 1):
    assert sorted(got) == sorted(want)
    for key in want:
      np.testing.assert_allclose(got[key], want[key], rtol=RTOL, atol=ATOL,
                                 err_msg=f'{key} of loop {step}')
  assert len(weights) == len(expected_weights)
  for got, want in zip(weights, expected_weights):
    if exact_weights:
      np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


@pytest.fixture(scope='module', name='runs')
def fixture_runs(tmp_path_factory):
  """Per strategy: the fast path, our Trainer on Orbit's loop, the textbook trainer."""
  runs = {}
  for name in ('off', 'one_device'):
    fast = run_experiment(name, tmp_path_factory.mktemp(f'fast_{name}'))
    plain = run_experiment(name, tmp_path_factory.mktemp(f'plain_{name}'),
                           trainer_cls=OrbitLoopTrainer)
    runs[name] = dict(fast=fast, plain=plain, textbook=run_textbook(name))
  return runs


@pytest.mark.parametrize('strategy', ['off', 'one_device'])
def test_fast_path_is_taken_and_orbit_plain_path_is_not(runs, strategy):
  # Eager only at the first loop end, one tf.function call after every other.
  assert runs[strategy]['fast'][2] == [PER_LOOP]
  assert runs[strategy]['plain'][2] == list(range(PER_LOOP, STEPS + 1, PER_LOOP))


@pytest.mark.parametrize('strategy', ['off', 'one_device'])
def test_same_losses_and_weights_as_trainer_on_orbit_loop(runs, strategy):
  assert_same(runs[strategy]['fast'][:2], runs[strategy]['plain'][:2], exact_weights=True)


@pytest.mark.parametrize('strategy', ['off', 'one_device'])
def test_same_losses_and_weights_as_textbook_orbit_trainer(runs, strategy):
  assert_same(runs[strategy]['fast'][:2], runs[strategy]['textbook'])


def test_training_moved_the_weights_and_loss(runs):
  loops, weights, _ = runs['one_device']['fast']
  assert loops[-1]['training_loss'] < loops[0]['training_loss']
  assert loops[0]['learning_rate'] != loops[-1]['learning_rate']
  params = seeded_params()
  with seeding.seeded(params.runtime.seed):
    initial = task_factory.get_task(params.task).build_model().get_weights()
  assert not np.allclose(initial[0], weights[0])
