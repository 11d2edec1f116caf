"""The runner's seams: build steps a subclass replaces, the lock held by `run` only, signals.

TFM users customise `OrbitExperimentRunner` by subclassing it and replacing
one build step, then calling `run()`; these tests do that. Building a runner
takes no lock and writes nothing, so a second training on a model_dir in use
is refused by `run` before it writes anything, and a runner built but never
run blocks nobody. SIGTERM/SIGINT are caught exactly when the runner built
the action that acts on them, whatever the controller class keeps.
"""
import gc
import os
import signal

import orbit
import pytest
import tensorflow as tf

import experiments  # noqa: F401  (registers the experiments)
from model_dirs import snapshot
from official_like.core import exp_factory
from official_like.core import task_factory
from official_like.core import train_lib
from official_like.core import train_utils
from official_like.modeling.hyperparams import ConfigError
from official_like.run import model_dir_lock
from official_like.run import preemption


def build(model_dir, runner_cls=train_lib.OrbitExperimentRunner, train_steps=20,
          checkpoint_interval=10, **kwargs):
  """A `train` runner of digits_mlp: loops of 10 steps, summaries every loop."""
  params = exp_factory.get_exp_config('digits_mlp')
  params.override({'trainer': {
      'train_steps': train_steps, 'checkpoint_interval': checkpoint_interval,
      'steps_per_loop': 10, 'summary_interval': 10, 'validation_interval': 20}})
  strategy = tf.distribute.get_strategy()
  with strategy.scope():
    task = task_factory.get_task(params.task, logging_dir=str(model_dir))
  return runner_cls(distribution_strategy=strategy, task=task, mode='train', params=params,
                    model_dir=str(model_dir), **kwargs)


def latest_step(model_dir):
  return int(tf.train.latest_checkpoint(str(model_dir)).rsplit('-', 1)[1])


def test_a_built_runner_holds_no_lock_and_writes_nothing_until_it_runs(tmp_path):
  model_dir = tmp_path / 'model'
  runner = build(model_dir)
  assert not model_dir.exists()
  with model_dir_lock.ModelDirLock(str(model_dir)) as other:  # Another run may start.
    assert other.held
  runner.run()
  assert latest_step(model_dir) == 20
  assert (model_dir / 'params.yaml').exists()
  with model_dir_lock.ModelDirLock(str(model_dir)) as other:  # `run` let it go.
    assert other.held


def test_a_model_dir_in_use_refuses_run_before_it_writes(tmp_path):
  model_dir = tmp_path / 'model'
  build(model_dir, train_steps=10).run()
  (model_dir / 'ckpt-20_temp').mkdir()  # A save killed half way: run removes it.
  (model_dir / 'ckpt-20_temp' / 'part').write_text('partial')
  runner = build(model_dir)  # Another params.yaml: it would be kept aside.
  with model_dir_lock.ModelDirLock(str(model_dir)):
    before = snapshot(str(model_dir))
    holder = (model_dir / model_dir_lock.LOCK_NAME).read_text().strip()
    with pytest.raises(model_dir_lock.ModelDirInUseError) as error:
      runner.run()
    assert snapshot(str(model_dir)) == before
  assert str(error.value) == (
      f'model_dir {model_dir} is in use by another training process ({holder}); wait '
      'for it to end, stop it, or use another --model_dir')
  runner.run()  # The holder is gone: the same runner goes on from step 10.
  assert latest_step(model_dir) == 20
  assert not (model_dir / 'ckpt-20_temp').exists()
  assert sorted(p.name for p in model_dir.glob('params.yaml*'))[0] == 'params.yaml'
  assert len(list(model_dir.glob('params.yaml.*'))) == 1


class CountingRunner(train_lib.OrbitExperimentRunner):
  """Replaces one TFM step: the controller gets one more train action."""

  def _build_controller(self, trainer, evaluator, train_actions=None, **kwargs):
    self.handlers = []
    return super()._build_controller(trainer, evaluator,
                                     train_actions=[*train_actions, self._seen], **kwargs)

  def _seen(self, output):
    del output
    self.handlers.append(signal.getsignal(signal.SIGINT))


class TFMStyleRunner(CountingRunner):
  """Builds its controller as a TFM subclass would: no actions of ours, no signal stop."""

  def _build_controller(self, trainer, evaluator, save_summary=True, train_actions=None,
                        eval_actions=None, controller_cls=orbit.Controller,
                        enable_async_checkpointing=False):
    self.handlers = []
    return controller_cls(
        strategy=self.strategy, trainer=trainer, evaluator=evaluator,
        global_step=self.trainer.global_step,
        steps_per_loop=self.params.trainer.steps_per_loop,
        checkpoint_manager=self.checkpoint_manager, train_actions=[self._seen])


def test_a_subclass_replaces_one_step_and_signals_follow_its_actions(tmp_path):
  previous = signal.getsignal(signal.SIGINT)
  ours = build(tmp_path / 'ours', CountingRunner)
  _, logs = ours.run()
  assert logs == {} and latest_step(tmp_path / 'ours') == 20
  assert len(ours.handlers) == 2  # One per train loop.
  assert all(h is not previous for h in ours.handlers)  # Caught for SaveAndStopOnSignal.
  tfm_style = build(tmp_path / 'tfm_style', TFMStyleRunner)
  tfm_style.run()
  assert latest_step(tmp_path / 'tfm_style') == 20
  assert tfm_style.handlers == [previous, previous]  # Nothing would act on a signal.
  assert signal.getsignal(signal.SIGINT) is previous


class ActionsKeptInside:
  """A controller_cls without `train_actions`: it wraps an Orbit Controller."""

  def __init__(self, **kwargs):
    self._controller = orbit.Controller(**kwargs)

  def train(self, steps):
    return self._controller.train(steps)


def test_a_controller_without_train_actions_still_saves_and_stops_on_a_signal(tmp_path):
  model_dir = tmp_path / 'model'
  previous = signal.getsignal(signal.SIGINT)
  interrupt = lambda output: os.kill(os.getpid(), signal.SIGINT)
  runner = build(model_dir, checkpoint_interval=20, controller_cls=ActionsKeptInside,
                 train_actions=[interrupt])
  assert not hasattr(runner.controller, 'train_actions')
  with pytest.raises(preemption.Preempted) as error:
    runner.run()
  assert (error.value.signum, error.value.step) == (signal.SIGINT, 10)
  assert latest_step(model_dir) == 10  # Saved on the signal (the interval is 20).
  assert signal.getsignal(signal.SIGINT) is previous
  with model_dir_lock.ModelDirLock(str(model_dir)) as other:
    assert other.held


@pytest.mark.parametrize('mode, refused', [
    ('train', 'train_data'), ('lr_find', 'train_data'), ('eval', 'validation_data'),
    ('continuous_eval', 'validation_data'), ('train_and_post_eval', 'train_data'),
    ('lr_preview', None)])
def test_the_one_batch_check_knows_the_data_each_mode_reads(mode, refused):
  """The check the runner and trainer_main.py both ask, on 2 replicas."""
  params = exp_factory.get_exp_config('digits_mlp')
  odd = 'validation_data' if refused == 'validation_data' else 'train_data'
  params.override({'task': {odd: {'global_batch_size': 33}}})
  if refused is None:
    train_utils.check_mode_batch_sizes(params, mode, 2)
    return
  with pytest.raises(ConfigError) as error:
    train_utils.check_mode_batch_sizes(params, mode, 2)
  assert str(error.value) == (f'task.{refused}.global_batch_size: 33 does not split '
                              'evenly over the 2 replicas in sync; use a multiple of 2')


def test_a_post_evaluation_reads_validation_data():
  params = exp_factory.get_exp_config('digits_mlp')
  params.override({'task': {'validation_data': {'global_batch_size': 33}}})
  train_utils.check_mode_batch_sizes(params, 'train', 2)
  with pytest.raises(ConfigError, match='validation_data.global_batch_size: 33'):
    train_utils.check_mode_batch_sizes(params, 'train', 2, run_post_eval=True)


def test_training_runs_with_the_startup_heap_frozen_and_gives_it_back(tmp_path):
  """`frozen_heap`: full collections skip what was built before training, only during it."""
  frozen_during = []
  runner = build(tmp_path / 'model',
                 train_actions=[lambda _: frozen_during.append(gc.get_freeze_count())])
  runner.run()
  assert len(frozen_during) == 2 and min(frozen_during) > 100_000  # TF alone tracks more.
  assert gc.get_freeze_count() == 0
  assert latest_step(tmp_path / 'model') == 20


def test_a_heap_frozen_by_the_caller_stays_frozen(tmp_path):
  """The run neither freezes more (the model built after the caller's freeze) nor unfreezes."""
  frozen_during = []
  gc.freeze()
  try:
    before = gc.get_freeze_count()
    build(tmp_path / 'model',
          train_actions=[lambda _: frozen_during.append(gc.get_freeze_count())]).run()
    # Frozen objects may still be freed by reference counting, so counts only fall.
    assert frozen_during and max(frozen_during) <= before
    assert gc.get_freeze_count() > 0
  finally:
    gc.unfreeze()
