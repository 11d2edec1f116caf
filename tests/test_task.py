"""The Task API as the trainer uses it, and the task/experiment registries.

Optimizer customisation (TFM's "Customizing Optimizer Inside Task"), mixed
precision, warm start from `init_checkpoint` and the replica scaling of the
loss are each checked on a real (small) run or a real train step.
"""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from event_files import scalars
import experiments  # noqa: F401  (registers the experiments)
from experiments import datasets
from experiments import diabetes
from experiments import digits
from official_like.core import base_task
from official_like.core import base_trainer
from official_like.core import config_definitions as cfg
from official_like.core import exp_factory
from official_like.core import task_factory
from official_like.core import train_lib
from official_like.modeling.hyperparams import ConfigError
from official_like.modeling.optimization import OptimizerFactory

LossScaleOptimizer = tf_keras.mixed_precision.LossScaleOptimizer


def digits_params(**trainer):
  params = exp_factory.get_exp_config('digits_mlp')
  params.override({'trainer': dict(
      dict(train_steps=40, steps_per_loop=10, summary_interval=20,
           checkpoint_interval=20, validation_interval=40,
           optimizer_config={'learning_rate': {'cosine': {'decay_steps': 40}},
                             'warmup': {'linear': {'warmup_steps': 10}}}),
      **trainer)})
  return params


@pytest.fixture(name='float32_policy_after')
def fixture_float32_policy_after():
  yield
  tf_keras.mixed_precision.set_global_policy('float32')


def run(task, params, model_dir, mode='train'):
  logs = {}
  model, _ = train_lib.run_experiment(tf.distribute.get_strategy(), task, mode,
                                      params, str(model_dir),
                                      eval_actions=[logs.update])
  return model, logs


# Customising the optimizer inside the task.

class ConstantAdamTask(digits.DigitsClassificationTask):
  """Ignores the optimizer config: legacy Adam at a constant 0.003."""

  @classmethod
  def create_optimizer(cls, optimizer_config, runtime_config=None):
    del optimizer_config, runtime_config
    return tf_keras.optimizers.legacy.Adam(learning_rate=0.003)


class CountingOptimizer(tf.Module):
  """A minimal wrapper: delegates to `inner` and counts its updates."""

  def __init__(self, inner):
    super().__init__(name='counting_optimizer')
    self.inner = inner
    self.applied = tf.Variable(0, dtype=tf.int64, trainable=False)

  @property
  def learning_rate(self):
    return self.inner.learning_rate

  def apply_gradients(self, grads_and_vars):
    self.applied.assign_add(1)
    return self.inner.apply_gradients(grads_and_vars)


class CountingTask(digits.DigitsClassificationTask):

  @classmethod
  def create_optimizer(cls, optimizer_config, runtime_config=None):
    return CountingOptimizer(super().create_optimizer(optimizer_config, runtime_config))


class LossScaledTask(digits.DigitsClassificationTask):

  @classmethod
  def create_optimizer(cls, optimizer_config, runtime_config=None):
    return LossScaleOptimizer(super().create_optimizer(optimizer_config, runtime_config),
                              dynamic=False, initial_scale=64.0)


def test_overridden_create_optimizer_is_used(tmp_path, trainers):
  params = digits_params()
  run(ConstantAdamTask(params.task), params, tmp_path)
  optimizer = trainers[0].optimizer
  assert type(optimizer) is tf_keras.optimizers.legacy.Adam
  assert optimizer.iterations.numpy() == 40
  logged = scalars(str(tmp_path / 'train'))['learning_rate']
  assert sorted(logged) == [20, 40]
  for value in logged.values():
    np.testing.assert_allclose(value, 0.003, rtol=1e-6)
  # The config's schedule was not used: its values differ.
  schedule = OptimizerFactory(params.trainer.optimizer_config).build_learning_rate()
  assert abs(float(schedule(20)) - 0.003) > 1e-3


@pytest.mark.parametrize('task_cls', [CountingTask, LossScaledTask])
def test_wrapping_the_factory_optimizer_trains(tmp_path, trainers, task_cls):
  params = digits_params()
  run(task_cls(params.task), params, tmp_path)
  optimizer = trainers[0].optimizer
  train = scalars(str(tmp_path / 'train'))
  if task_cls is CountingTask:
    assert isinstance(optimizer, CountingOptimizer)
    assert optimizer.applied.numpy() == 40
    inner = optimizer.inner
  else:
    assert isinstance(optimizer, LossScaleOptimizer) and not optimizer.dynamic
    assert float(optimizer.loss_scale) == 64.0
    inner = optimizer.inner_optimizer
  assert type(inner) is tf_keras.optimizers.legacy.SGD
  assert inner.iterations.numpy() == 40
  schedule = OptimizerFactory(params.trainer.optimizer_config).build_learning_rate()
  for step, value in train['learning_rate'].items():
    np.testing.assert_allclose(value, float(schedule(step)), rtol=1e-6)
  losses = train['training_loss']
  assert all(np.isfinite(v) for v in losses.values())
  assert losses[40] < losses[20]


# Mixed precision.

@pytest.mark.parametrize('dtype, loss_scale, expected', [
    (None, None, None), ('float32', 'dynamic', None), ('bfloat16', None, None),
    ('float16', None, 'dynamic'), ('float16', 'dynamic', 'dynamic'),
    ('float16', 256.0, 256.0)])
def test_create_optimizer_loss_scaling(dtype, loss_scale, expected):
  params = digits_params()
  runtime = cfg.RuntimeConfig(mixed_precision_dtype=dtype, loss_scale=loss_scale)
  optimizer = base_task.Task.create_optimizer(params.trainer.optimizer_config, runtime)
  if expected is None:
    assert type(optimizer) is tf_keras.optimizers.legacy.SGD
  elif expected == 'dynamic':
    assert isinstance(optimizer, LossScaleOptimizer) and optimizer.dynamic
  else:
    assert isinstance(optimizer, LossScaleOptimizer) and not optimizer.dynamic
    assert float(optimizer.loss_scale) == expected


@pytest.mark.parametrize('loss_scale, optimizer_type', [
    ('dynamic', 'sgd'),
    (128.0, 'adam_experimental'),  # A new (non-legacy) Keras optimizer.
])
def test_float16_run_finishes_with_finite_loss(tmp_path, trainers, loss_scale,
                                               optimizer_type, float32_policy_after):
  del float32_policy_after
  params = digits_params()
  params.override({'runtime': {'mixed_precision_dtype': 'float16',
                               'loss_scale': loss_scale},
                   'trainer': {'optimizer_config': {'optimizer': {
                       'type': optimizer_type}}}})
  model, logs = run(digits.DigitsClassificationTask(params.task), params, tmp_path,
                    mode='train_and_eval')
  optimizer = trainers[0].optimizer
  assert isinstance(optimizer, LossScaleOptimizer)
  assert optimizer.dynamic == (loss_scale == 'dynamic')
  if loss_scale != 'dynamic':
    assert float(optimizer.loss_scale) == 128.0
  hidden = [layer for layer in model.layers if isinstance(layer, tf_keras.layers.Dense)]
  assert hidden[0].compute_dtype == 'float16'
  assert hidden[-1].compute_dtype == 'float32'  # The logits stay float32.
  train = scalars(str(tmp_path / 'train'))
  losses = train['training_loss']
  assert sorted(losses) == [20, 40]
  assert all(np.isfinite(v) for v in losses.values())
  assert np.isfinite(logs['validation_loss']) and logs['accuracy'] > 0.3
  # The loss-scaled optimizer still logs its schedule, not its last rate.
  schedule = OptimizerFactory(params.trainer.optimizer_config).build_learning_rate()
  assert sorted(train['learning_rate']) == [20, 40]
  for step, value in train['learning_rate'].items():
    np.testing.assert_allclose(value, float(schedule(step)), rtol=1e-6)


# Warm start.

@pytest.fixture(scope='module', name='source_run')
def fixture_source_run(tmp_path_factory):
  model_dir = tmp_path_factory.mktemp('warm_start_source')
  params = digits_params(train_steps=20)
  model, _ = train_lib.run_experiment(
      tf.distribute.get_strategy(), digits.DigitsClassificationTask(params.task),
      'train', params, str(model_dir))
  return model_dir, [w.copy() for w in model.get_weights()]


@pytest.mark.parametrize('point_at', ['directory', 'checkpoint'])
def test_init_checkpoint_loads_weights_before_training(tmp_path, monkeypatch,
                                                       source_run, point_at):
  source_dir, source_weights = source_run
  init = (str(source_dir) if point_at == 'directory'
          else tf.train.latest_checkpoint(str(source_dir)))
  params = digits_params(train_steps=10)
  params.override({'task': {'init_checkpoint': init}})
  before_training = []
  original = base_trainer.Trainer.train_loop_begin

  def record(self):
    if not before_training:
      before_training.append([w.copy() for w in self.model.get_weights()])
    original(self)
  monkeypatch.setattr(base_trainer.Trainer, 'train_loop_begin', record)
  model, _ = run(digits.DigitsClassificationTask(params.task), params, tmp_path)

  for loaded, expected in zip(before_training[0], source_weights, strict=True):
    np.testing.assert_array_equal(loaded, expected)
  # ...and training then moved on from there.
  assert any(not np.array_equal(a, b)
             for a, b in zip(model.get_weights(), source_weights))


def test_init_checkpoint_directory_without_checkpoint_is_skipped_as_in_tfm(tmp_path, caplog):
  params = digits_params()
  params.override({'task': {'init_checkpoint': str(tmp_path)}})
  task = digits.DigitsClassificationTask(params.task)
  model = task.build_model()
  initial = [w.copy() for w in model.get_weights()]
  with caplog.at_level('WARNING'):
    task.initialize(model)
  assert f"task.init_checkpoint: no checkpoint in directory '{tmp_path}' yet" in caplog.text
  for now, before in zip(model.get_weights(), initial, strict=True):
    np.testing.assert_array_equal(now, before)


def test_init_checkpoint_restores_the_models_checkpoint_items(tmp_path, source_run):
  """TFM's encoders warm-start through `checkpoint_items` (e.g. {'encoder': ...})."""
  source_dir, source_weights = source_run
  params = digits_params()
  params.override({'task': {'init_checkpoint': str(source_dir)}})
  task = digits.DigitsClassificationTask(params.task)
  model = task.build_model()
  holder = tf_keras.Sequential([model])  # The model is reached only through the items.
  holder.checkpoint_items = {'model': model}
  task.initialize(holder)
  for loaded, expected in zip(model.get_weights(), source_weights, strict=True):
    np.testing.assert_array_equal(loaded, expected)


def test_init_checkpoint_of_another_model_fails_before_writing(tmp_path, source_run):
  source_dir, _ = source_run
  params = digits_params(train_steps=10)
  params.override({'task': {'init_checkpoint': str(source_dir),
                            'model': {'mlp': {'hidden_sizes': [7]}}}})
  model_dir = tmp_path / 'model'
  with pytest.raises(ConfigError) as error:
    run(digits.DigitsClassificationTask(params.task), params, model_dir)
  assert str(error.value).startswith('task.init_checkpoint: ')
  assert 'does not fit the model' in str(error.value)
  assert not (model_dir / 'params.yaml').exists()


# The loss is scaled by the replica count: same update on 1 and 2 replicas.

def _one_update(strategy, initial, optimizer_fn):
  params = exp_factory.get_exp_config('diabetes_regression')
  task = diabetes.DiabetesRegressionTask(params.task)
  features, labels = datasets.load('diabetes', 'train')
  dataset = tf.data.Dataset.from_tensor_slices((features[:32], labels[:32])).batch(32)
  with strategy.scope():
    model = task.build_model()
    model.set_weights(initial)
    optimizer = optimizer_fn()

  @tf.function
  def step(inputs):
    strategy.run(task.train_step, args=(inputs, model, optimizer))

  for inputs in strategy.experimental_distribute_dataset(dataset):
    step(inputs)
  return model.get_weights()


@pytest.mark.parametrize('optimizer_fn', [
    lambda: tf_keras.optimizers.legacy.SGD(0.5),
    lambda: LossScaleOptimizer(tf_keras.optimizers.legacy.SGD(0.5),
                               dynamic=False, initial_scale=1024.0),
], ids=['sgd', 'loss_scaled_sgd'])
def test_train_step_update_same_on_one_and_two_replicas(optimizer_fn, two_cpu_strategy):
  task = diabetes.DiabetesRegressionTask(
      exp_factory.get_exp_config('diabetes_regression').task)
  initial = [w.copy() for w in task.build_model().get_weights()]
  one = _one_update(tf.distribute.OneDeviceStrategy('/cpu:0'), initial, optimizer_fn)
  mirrored = two_cpu_strategy
  assert mirrored.num_replicas_in_sync == 2
  two = _one_update(mirrored, initial, optimizer_fn)
  moved = 0
  for a, b, start in zip(one, two, initial, strict=True):
    np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    moved += not np.allclose(a, start)
  assert moved == len(initial)  # Every variable got a real update.


# Task registry: by config class.

@pytest.fixture(name='task_registry')
def fixture_task_registry(monkeypatch):
  """Registrations made in a test are dropped afterwards."""
  registry = task_factory._TASKS  # pylint: disable=protected-access
  # pylint: disable-next=protected-access
  monkeypatch.setattr(registry, '_tables', [dict(t) for t in registry._tables])
  return registry


class OrphanTaskConfig(cfg.TaskConfig):
  pass


def test_get_task_builds_the_registered_task(task_registry):
  del task_registry

  class NewConfig(cfg.TaskConfig):
    pass

  @task_factory.register_task_cls(NewConfig)
  class NewTask(digits.DigitsClassificationTask):
    pass

  config = NewConfig()
  task = task_factory.get_task(config, logging_dir='/tmp/x', name='my_task')
  assert type(task) is NewTask
  assert task.task_config is config
  assert task.logging_dir == '/tmp/x' and task.name == 'my_task'
  assert type(task_factory.get_task(digits.DigitsTaskConfig())) is (
      digits.DigitsClassificationTask)
  assert type(task_factory.get_task(diabetes.DiabetesTaskConfig())) is (
      diabetes.DiabetesRegressionTask)


def test_subclass_of_registered_config_resolves_to_nearest(task_registry):
  del task_registry

  class SubConfig(digits.DigitsTaskConfig):
    pass

  class SubSubConfig(SubConfig):
    pass

  assert type(task_factory.get_task(SubSubConfig())) is digits.DigitsClassificationTask

  @task_factory.register_task_cls(SubConfig)
  class SubTask(digits.DigitsClassificationTask):
    pass

  assert type(task_factory.get_task(SubSubConfig())) is SubTask
  assert type(task_factory.get_task(digits.DigitsTaskConfig())) is (
      digits.DigitsClassificationTask)


def test_unknown_task_config_lists_registered(task_registry):
  del task_registry
  with pytest.raises(ConfigError) as error:
    task_factory.get_task(OrphanTaskConfig())
  message = str(error.value)
  assert message.startswith("task: unknown task 'OrphanTaskConfig'; ")
  assert '@task_factory.register_task_cls(OrphanTaskConfig)' in message
  listed = message.split('valid tasks: ')[1].split(', ')
  assert {'DigitsTaskConfig', 'DiabetesTaskConfig'} <= set(listed)


def test_a_task_module_that_cannot_be_imported_names_the_config(task_registry):
  """TASK_MODULE is imported by the one user-module importer, with its wording."""
  del task_registry

  @dataclasses.dataclass
  class MistypedModuleConfig(cfg.TaskConfig):
    TASK_MODULE = 'no_such_tasks_module'

  with pytest.raises(ConfigError) as error:
    task_factory.get_task(MistypedModuleConfig())
  assert str(error.value).startswith(
      "task: MistypedModuleConfig.TASK_MODULE: cannot import module 'no_such_tasks_module': "
      "No module named 'no_such_tasks_module'; for a file give its path")


def test_duplicate_task_registration_is_an_error(task_registry):
  del task_registry
  with pytest.raises(ConfigError) as error:
    task_factory.register_task_cls(digits.DigitsTaskConfig)(
        digits.DigitsClassificationTask)
  assert str(error.value).startswith("task: 'DigitsTaskConfig' is already registered")
  # The original registration is untouched.
  assert type(task_factory.get_task(digits.DigitsTaskConfig())) is (
      digits.DigitsClassificationTask)


# Experiment registry: by name.

@pytest.fixture(name='exp_registry')
def fixture_exp_registry(monkeypatch):
  registry = exp_factory._EXPERIMENTS  # pylint: disable=protected-access
  # pylint: disable-next=protected-access
  monkeypatch.setattr(registry, '_tables', [dict(t) for t in registry._tables])
  return registry


def test_registered_experiments():
  assert {'digits_mlp', 'digits_cnn', 'diabetes_regression'} <= set(
      exp_factory.registered_experiments())


def test_get_exp_config_returns_fresh_independent_configs(exp_registry):
  del exp_registry
  first = exp_factory.get_exp_config('digits_mlp')
  first.trainer.train_steps = 7
  first.task.model.mlp.hidden_sizes.append(3)
  first.override({'trainer': {'optimizer_config': {
      'optimizer': {'sgd': {'momentum': 0.1}}}}})
  second = exp_factory.get_exp_config('digits_mlp')
  assert second.trainer.train_steps == 600
  assert second.task.model.mlp.hidden_sizes == [128, 64]
  assert second.trainer.optimizer_config.optimizer.sgd.momentum == 0.9

  @exp_factory.register_config_factory('core_test_experiment')
  def factory():
    return cfg.ExperimentConfig(trainer=cfg.TrainerConfig(train_steps=3))

  assert factory() == exp_factory.get_exp_config('core_test_experiment')
  a = exp_factory.get_exp_config('core_test_experiment')
  a.trainer.train_steps = 9
  assert exp_factory.get_exp_config('core_test_experiment').trainer.train_steps == 3
  assert 'core_test_experiment' in exp_factory.registered_experiments()


def test_unknown_experiment_suggests_and_lists(exp_registry):
  del exp_registry
  with pytest.raises(ConfigError) as error:
    exp_factory.get_exp_config('digits_mpl')
  message = str(error.value)
  assert message.startswith("experiment: unknown experiment 'digits_mpl'; "
                            "did you mean 'digits_mlp'? valid experiments: ")
  for name in ('diabetes_regression', 'digits_cnn', 'digits_mlp'):
    assert name in message


def test_duplicate_experiment_registration_is_an_error(exp_registry):
  del exp_registry
  with pytest.raises(ConfigError) as error:
    exp_factory.register_config_factory('digits_mlp')(lambda: cfg.ExperimentConfig())
  assert str(error.value).startswith("experiment: 'digits_mlp' is already registered")
  assert exp_factory.get_exp_config('digits_mlp').trainer.train_steps == 600


def test_factory_must_return_an_experiment_config(exp_registry):
  del exp_registry
  exp_factory.register_config_factory('core_test_not_a_config')(lambda: {'a': 1})
  with pytest.raises(TypeError, match='returned dict, not a Config'):
    exp_factory.get_exp_config('core_test_not_a_config')


def test_a_task_without_build_model_can_exist_but_cannot_train(tmp_path):
  """As in TFM, only build_inputs is abstract (TFM's multitask code relies on it)."""

  class InputsOnly(base_task.Task):
    def build_inputs(self, params, input_context=None):
      return tf.data.Dataset.range(4)

  params = digits_params(train_steps=2)
  task = InputsOnly(params.task)
  assert task.build_model() is None
  with pytest.raises(TypeError, match=r'^InputsOnly.build_model\(\) returned None'):
    run(task, params, tmp_path)
  assert not (tmp_path / 'params.yaml').exists()


def test_create_optimizer_takes_tfms_dp_config_but_refuses_one():
  """TFM's multitask code passes dp_config=None; differential privacy is not implemented."""
  config = digits_params().trainer.optimizer_config
  optimizer = base_task.Task.create_optimizer(config, dp_config=None)
  assert optimizer.learning_rate is not None
  with pytest.raises(ConfigError, match='^task.differential_privacy_config: differential '
                     'privacy is not supported'):
    base_task.Task.create_optimizer(config, dp_config={'clipping_norm': 1.0})
