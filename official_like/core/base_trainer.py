"""The Trainer: Orbit's StandardTrainer and StandardEvaluator driving a Task.

Orbit owns the loops (`steps_per_loop` steps inside one `tf.function`, a
`tf.while_loop` when `train_tf_while_loop`); this class says what one step
is, what is reported at the end of a loop or an evaluation, and which
objects are checkpointed. Its seams are TFM's: `next_train_inputs`,
`next_eval_inputs`, `checkpoint_exporter`, `model.checkpoint_items`.

Two checkpoints: `checkpoint` holds TFM's keys (global step, model,
optimizer), which best-checkpoint exports and divergence recovery use;
`resume_checkpoint` adds what an exact resume needs on top - the training
input's position and the random layers' generator states - and is the one
written to model_dir.
"""
import inspect
from typing import Dict, List

import orbit
import tensorflow as tf
import tf_keras

from official_like.common.traced import EagerThenTraced
from official_like.core import base_task
from official_like.core import config_definitions as cfg
from official_like.modeling.optimization.ema_optimizer import ExponentialMovingAverage
from official_like.run import resumable_input
from official_like.run import seeding


def learning_rate_at(optimizer, step) -> tf.Tensor:
  """The schedule's value at `step`, for legacy and new Keras optimizers alike.

  A LossScaleOptimizer is looked through: around a new Keras optimizer its
  `learning_rate` is the rate of the last update, not the schedule.
  """
  optimizer = getattr(optimizer, 'inner_optimizer', optimizer)
  lr = getattr(optimizer, '_learning_rate', None)
  if not isinstance(lr, tf_keras.optimizers.schedules.LearningRateSchedule):
    lr = optimizer.learning_rate
  if callable(lr):
    return tf.cast(lr(step), tf.float32)
  return tf.cast(tf.convert_to_tensor(lr), tf.float32)


def get_runtime_options(config: cfg.ExperimentConfig) -> tf.distribute.RunOptions:
  """`strategy.run` options of the train step (the TPU dynamic padder)."""
  padder = config.runtime.tpu_enable_xla_dynamic_padder
  xla = {} if padder is None else {'enable_xla_dynamic_padder': padder}
  return tf.distribute.RunOptions(experimental_xla_options=tf.tpu.XLAOptions(**xla))


def _with_private_threads(dataset_or_fn, threads: int):
  """The same dataset (or dataset function) with a private thread pool of `threads`."""
  options = tf.data.Options()
  options.threading.private_threadpool_size = threads
  if isinstance(dataset_or_fn, tf.data.Dataset):
    return dataset_or_fn.with_options(options)
  if 'input_context' not in inspect.signature(dataset_or_fn).parameters:
    return lambda *args, **kwargs: dataset_or_fn(*args, **kwargs).with_options(options)

  def dataset_fn(params, input_context=None):
    # A named positional parameter: Orbit hands `input_context` to no other kind.
    return dataset_or_fn(params, input_context=input_context).with_options(options)
  return dataset_fn


class _EvalCheckpoint(tf.train.Checkpoint):
  """A checkpoint that restores without complaint what evaluation does not use.

  An evaluation-only Trainer never creates optimizer slots, so a training
  checkpoint always has values it cannot place; TensorFlow would list each
  of them as a warning when the process exits.
  """

  def restore(self, save_path, options=None):
    return super().restore(save_path, options=options).expect_partial()


class Trainer(orbit.StandardTrainer, orbit.StandardEvaluator):
  """Trains and evaluates one Task's model with one optimizer.

  With an `ExponentialMovingAverage` optimizer the averages are created here
  and evaluation (and the best-checkpoint export) uses the averaged weights,
  swapped back afterwards.
  """

  def __init__(self, config: cfg.ExperimentConfig, task: base_task.Task,
               model: tf_keras.Model, optimizer, train: bool = True,
               evaluate: bool = True, train_dataset=None, validation_dataset=None,
               checkpoint_exporter=None):
    """Builds datasets (unless given) under the current strategy.

    Args:
      config: the experiment config; `trainer` and `task` are read.
      task: the Task whose steps are run.
      model: the model, built under the strategy's scope.
      optimizer: the optimizer, e.g. from `task.create_optimizer`.
      train, evaluate: which half of the Trainer to set up.
      train_dataset, validation_dataset: distributed datasets to use instead
        of `task.build_inputs` on the config's data. A given train_dataset's
        position is not checkpointed (tf.distribute iterators cannot be).
      checkpoint_exporter: an object with `maybe_export_checkpoint`, called
        after each evaluation (see `train_utils.BestCheckpointExporter`).
    """
    self._strategy = tf.distribute.get_strategy()
    self._validate_params(config, check_train_data=train and train_dataset is None,
                          check_validation_data=evaluate and validation_dataset is None)
    self._config = config
    self._task = task
    self._model = model
    self._optimizer = optimizer
    self._checkpoint_exporter = checkpoint_exporter
    self._runtime_options = get_runtime_options(config)
    if isinstance(optimizer, ExponentialMovingAverage) and not optimizer.has_shadow_copy:
      optimizer.shadow_copy(model)
    self._global_step = orbit.utils.create_global_step()
    checkpoint_cls = tf.train.Checkpoint if train else _EvalCheckpoint
    self._checkpoint = checkpoint_cls(**self._checkpoint_items())
    self._train_loss = tf_keras.metrics.Mean('training_loss', dtype=tf.float32)
    self._validation_loss = tf_keras.metrics.Mean('validation_loss', dtype=tf.float32)
    self._train_metrics, self._validation_metrics = [], []
    resume_items = self._init_train(train_dataset) if train else {}
    if evaluate:
      self._init_eval(validation_dataset)
    self._task_train_step = task.train_step
    if config.runtime.enable_xla:
      self._task_train_step = tf.function(task.train_step, jit_compile=True)
    self._init_resume_checkpoint(resume_items)

  def _validate_params(self, config, check_train_data: bool = True,
                       check_validation_data: bool = True) -> None:
    """Raises AttributeError naming the first config field the trainer needs but lacks."""
    paths = ['trainer', 'task']
    if check_train_data:
      paths.append('task.train_data')
    if check_validation_data:
      paths.append('task.validation_data')
    for path in paths:
      node = config
      for name in path.split('.'):
        if not hasattr(node, name):
          raise AttributeError(f'The trainer needs the config to have `{path}`.')
        node = getattr(node, name)

  def _checkpoint_items(self) -> Dict[str, object]:
    """TFM's checkpoint keys, plus whatever the model lists in `checkpoint_items`."""
    return dict(global_step=self._global_step, model=self._model, optimizer=self._optimizer,
                **getattr(self._model, 'checkpoint_items', {}))

  def _data_config(self, name: str):
    """`config.task.<name>`, seeded by `runtime.seed` unless it has its own seed."""
    return seeding.with_data_seed(getattr(self._config.task, name),
                                  getattr(self._config.runtime, 'seed', None))

  def _init_train(self, train_dataset) -> Dict[str, object]:
    """Orbit's trainer half on the training input; returns the input's resume items."""
    self._train_metrics = self._task.build_metrics(training=True) + getattr(
        self._model, 'metrics', [])
    resume_items = {}
    if train_dataset is None:
      train_dataset, resume_items = self._train_input(self._task.build_inputs,
                                                      self._data_config('train_data'))
    trainer, eager = self._config.trainer, self._config.runtime.run_eagerly
    orbit.StandardTrainer.__init__(
        self, train_dataset, options=orbit.StandardTrainerOptions(
            use_tf_while_loop=trainer.train_tf_while_loop and not eager,
            use_tf_function=trainer.train_tf_function and not eager,
            use_tpu_summary_optimization=trainer.allow_tpu_summary))
    return resume_items

  def _init_eval(self, validation_dataset) -> None:
    """Orbit's evaluator half on the validation input."""
    self._validation_metrics = self._task.build_metrics(training=False) + getattr(
        self._model, 'metrics', [])
    dataset = validation_dataset or self.distribute_dataset(
        self._task.build_inputs, self._data_config('validation_data'))
    trainer, eager = self._config.trainer, self._config.runtime.run_eagerly
    orbit.StandardEvaluator.__init__(
        self, dataset, options=orbit.StandardEvaluatorOptions(
            use_tf_function=trainer.eval_tf_function and not eager,
            use_tf_while_loop=trainer.eval_tf_while_loop and not eager))

  def _init_resume_checkpoint(self, resume_items: Dict[str, object]) -> None:
    """`resume_checkpoint`: `checkpoint` itself unless there is input or RNG state too."""
    generators = seeding.random_generators(self._model)
    if generators:
      resume_items['random_generators'] = generators
    self._resume_checkpoint = self._checkpoint
    if resume_items:
      self._resume_checkpoint = type(self._checkpoint)(**self._checkpoint_items(),
                                                       **resume_items)
    # The save counters are variables made on first use; made now, they are made by
    # every worker alike, even if only the chief later saves (the best checkpoint).
    for checkpoint in {id(c): c for c in (self._checkpoint, self._resume_checkpoint)}.values():
      _ = checkpoint.save_counter

  def _train_input(self, dataset_fn, *args):
    """(the training input, the resume checkpoint's items for it): `resumable_input`.

    A subclass that overrides `distribute_dataset` keeps it for training too,
    without a checkpointed input position.
    """
    if type(self).distribute_dataset is not Trainer.distribute_dataset:
      return self.distribute_dataset(dataset_fn, *args), {}
    threads = self._config.runtime.dataset_num_private_threads
    if threads:
      dataset_fn = _with_private_threads(dataset_fn, threads)
    return resumable_input.train_input(
        self._strategy, dataset_fn, *args, global_step=self._global_step,
        distribute=lambda fn, *a: orbit.utils.make_distributed_dataset(self._strategy, fn, *a))

  def distribute_dataset(self, dataset_or_fn, *args, **kwargs):
    """A distributed dataset from a dataset or a `fn(*args, input_context)`.

    `runtime.dataset_num_private_threads` gives the dataset its own thread
    pool, whatever the task's `build_inputs` does.
    """
    threads = self._config.runtime.dataset_num_private_threads
    if threads:
      dataset_or_fn = _with_private_threads(dataset_or_fn, threads)
    return orbit.utils.make_distributed_dataset(self._strategy, dataset_or_fn,
                                                *args, **kwargs)

  @property
  def config(self) -> cfg.ExperimentConfig:
    return self._config

  @property
  def task(self) -> base_task.Task:
    return self._task

  @property
  def model(self) -> tf_keras.Model:
    return self._model

  @property
  def optimizer(self):
    return self._optimizer

  @property
  def strategy(self) -> tf.distribute.Strategy:
    return self._strategy

  @property
  def global_step(self) -> tf.Variable:
    return self._global_step

  @property
  def checkpoint(self) -> tf.train.Checkpoint:
    return self._checkpoint

  @property
  def resume_checkpoint(self) -> tf.train.Checkpoint:
    """`checkpoint` plus the training input's position and the random generators."""
    return self._resume_checkpoint

  @property
  def checkpoint_exporter(self):
    return self._checkpoint_exporter

  @property
  def train_loss(self) -> tf_keras.metrics.Metric:
    return self._train_loss

  @property
  def validation_loss(self) -> tf_keras.metrics.Metric:
    return self._validation_loss

  @property
  def train_metrics(self) -> List[tf_keras.metrics.Metric]:
    return self._train_metrics

  @property
  def validation_metrics(self) -> List[tf_keras.metrics.Metric]:
    return self._validation_metrics

  def initialize(self) -> None:
    """Runs once when no checkpoint exists: the task's warm start."""
    self._task.initialize(self._model)

  # Training.

  def next_train_inputs(self, iterator):
    """The next training batch; override to fetch or preprocess differently."""
    return next(iterator)

  def train_step(self, iterator) -> None:
    def step_fn(inputs):
      logs = self._task_train_step(inputs, model=self._model,
                                   optimizer=self._optimizer,
                                   metrics=self._train_metrics)
      self._train_loss.update_state(logs[self._task.loss])
      self._global_step.assign_add(1)
    self._strategy.run(step_fn, args=(self.next_train_inputs(iterator),),
                       options=self._runtime_options)

  _loop_end_fn = None

  def train_loop_end(self) -> Dict[str, tf.Tensor]:
    """Loss and metrics averaged over the loop (then reset), and lr(global_step).

    From the second loop on, one traced call (`EagerThenTraced`) when the
    loop runs in one: eagerly, the reads, resets and the schedule are a few
    dozen ops after every loop (~3 ms, 3% of a 100-step loop of the digits
    MLP). The train loop itself stays Orbit's, so training is bit for bit
    the same (tests/test_fast_path.py); the logged lr may differ from the
    eager value in the last bit. Multi-worker and TPU runs stay eager: a
    traced metric read is a collective whose key would have to match across
    workers.
    """
    if self._loop_end_fn is None:
      one_host = self._strategy.cluster_resolver is None
      self._loop_end_fn = (EagerThenTraced(self._loop_end_logs)
                           if one_host and self._train_options.use_tf_function
                           else self._loop_end_logs)
    return self._loop_end_fn()

  def _loop_end_logs(self) -> Dict[str, tf.Tensor]:
    logs = {}
    for metric in self._train_metrics + [self._train_loss]:
      logs[metric.name] = metric.result()
      metric.reset_states()
    logs['learning_rate'] = learning_rate_at(self._optimizer, self._global_step)
    return logs

  # Evaluation.

  def _swap_averaged_weights(self) -> None:
    if isinstance(self._optimizer, ExponentialMovingAverage):
      self._optimizer.swap_weights()

  def eval_begin(self) -> None:
    for metric in self._validation_metrics + [self._validation_loss]:
      metric.reset_states()
    self._swap_averaged_weights()

  def next_eval_inputs(self, iterator):
    """The next batch and host-side logs merged into the step's outputs."""
    return next(iterator), {}

  def eval_step(self, iterator):
    def step_fn(inputs):
      logs = self._task.validation_step(inputs, model=self._model,
                                        metrics=self._validation_metrics)
      if self._task.loss in logs:
        self._validation_loss.update_state(logs[self._task.loss])
      return logs
    inputs, passthrough = self.next_eval_inputs(iterator)
    outputs = self._strategy.run(step_fn, args=(inputs,))
    logs = tf.nest.map_structure(self._strategy.experimental_local_results, outputs)
    return {**passthrough, **logs}

  def eval_reduce(self, state=None, step_outputs=None):
    return self._task.aggregate_logs(state, step_outputs)

  def eval_end(self, aggregated_logs=None) -> Dict[str, tf.Tensor]:
    """Metrics, the task's reduced logs, and the best-checkpoint export."""
    logs = {m.name: m.result() for m in self._validation_metrics}
    if self._validation_loss.count.numpy():
      logs[self._validation_loss.name] = self._validation_loss.result()
    if aggregated_logs:
      logs.update(self._task.reduce_aggregated_logs(
          aggregated_logs, global_step=self._global_step))
    if self._checkpoint_exporter:
      self._checkpoint_exporter.maybe_export_checkpoint(
          self._checkpoint, logs, int(self._global_step.numpy()))
      name = self._config.trainer.best_checkpoint_eval_metric
      logs['best_' + name] = self._checkpoint_exporter.best_ckpt_logs[name]
    self._swap_averaged_weights()
    return logs
