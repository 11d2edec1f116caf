"""The training input, and what of it a checkpoint holds so that a resume is exact.

tf.distribute's iterators are not trackable (TF 2.20), so a checkpoint
cannot save where the input stopped. `train_input` picks, once, before
training, the best of three:

* **A position** (`Position`, a few bytes): when the task's `build_inputs`
  reads through `input_reader.read`, the stream is a pure function of
  (seed, examples consumed) (`input_position`). `CountingIterator` adds the
  examples the trainer took to `train_input/examples`, and a resume
  rebuilds the stream there. On GPUs, TPUs and several workers the input is
  tf.distribute's own (`distribute_datasets_from_function`), so each
  replica's batches are prefetched to its device; on one host's CPUs it is a
  `HostIterator`, which skips tf.distribute's prefetch thread (10-20% of a
  small model's steps/s, bench/README.md). Every worker of a multi-worker
  run counts the same (they step in lockstep), so each resumes its own
  shard exactly.
* **The whole iterator** (`HostIterator`, one host only): a pipeline written
  by hand is saved as tf.data saves it - shuffle buffer, epoch seeds,
  prefetched batches - when it can be and is small (`input_checks`).
* **Nothing**, as in TFM: a pipeline with stateful random ops, or whose
  shuffle buffers would make every checkpoint huge, or a multi-worker one
  not built by `input_reader`. One line says why and what to change.
"""
import inspect
import random
from typing import Any, Callable, Dict, Tuple

from absl import logging
import tensorflow as tf

from official_like.run import input_checks
from official_like.run import input_position


def supports(strategy: tf.distribute.Strategy) -> bool:
  """True for the default strategy, OneDevice and single-host Mirrored."""
  if not tf.distribute.has_strategy() and strategy is tf.distribute.get_strategy():
    return True
  one_host = (tf.distribute.OneDeviceStrategy, tf.distribute.MirroredStrategy)
  return isinstance(strategy, one_host) and strategy.cluster_resolver is None


def on_accelerators(strategy: tf.distribute.Strategy) -> bool:
  """True when the replicas run on GPUs or TPUs (the default strategy: if there is a GPU)."""
  if not tf.distribute.has_strategy() and strategy is tf.distribute.get_strategy():
    return bool(tf.config.list_logical_devices('GPU'))
  return any('CPU' not in device.upper() for device in strategy.extended.worker_devices)


class Position(tf.Module):
  """`train_input` in the checkpoint: where each input pipeline is, in examples.

  `seed` stands in for the data seed when the config has none, so an
  unseeded run resumes its own order. `pipelines` is the run's number of
  input pipelines (workers): each worker's position is in its own shard, so
  under another count the position is rescaled (`PositionalInput._rescale`).
  """

  def __init__(self, pipelines: int, seed=None):
    super().__init__(name='train_input')
    if seed is None:
      seed = random.SystemRandom().getrandbits(31)
    self.examples = tf.Variable(0, dtype=tf.int64, trainable=False, name='examples')
    self.seed = tf.Variable(seed, dtype=tf.int64,
                            trainable=False, name='seed')
    self.pipelines = tf.Variable(pipelines, dtype=tf.int64, trainable=False,
                                 name='pipelines')


class CountingIterator:
  """The distributed iterator, adding the examples each `next` takes to `examples`.

  Counted where the trainer consumes, so prefetched batches are not counted.
  """

  def __init__(self, iterator, examples: tf.Variable, per_next: int):
    self._iterator = iterator
    self._examples = examples
    self._per_next = per_next

  def __iter__(self):
    return self

  def __next__(self):
    value = next(self._iterator)
    self._examples.assign_add(self._per_next)
    return value

  def __getattr__(self, name):
    return getattr(self._iterator, name)


class PositionalInput:
  """What Orbit iterates: built at `iter()`, after the checkpoint is restored."""

  def __init__(self, build: Callable[[int, int], Any], position: Position,
               per_next: int, fresh, global_step: tf.Variable):
    self._build = build  # (start example, seed) -> distributed dataset.
    self._position = position
    self._per_next = per_next
    self._fresh = fresh  # Built at example 0 with the initial seed.
    self._global_step = global_step
    self._seed = int(position.seed.numpy())
    self._pipelines = int(position.pipelines.numpy())

  def __iter__(self):
    start, seed = int(self._position.examples.numpy()), int(self._position.seed.numpy())
    step = int(self._global_step.numpy())
    if step and not start:
      logging.warning('The checkpoint at step %d holds no input position (written by an '
                      'earlier version, or without one): the input restarts from its '
                      'beginning, as in TFM.', step)
    start = self._rescale(start)
    dataset = self._fresh
    if dataset is None or (start, seed) != (0, self._seed):
      dataset = self._build(start, seed)
    self._fresh = None
    return CountingIterator(iter(dataset), self._position.examples, self._per_next)

  def _rescale(self, start: int) -> int:
    """This worker's start when the checkpoint's run had another number of workers.

    The examples all workers took are spread over this run's workers, so
    each continues at the same point of the epoch, in its new shard.
    """
    pipelines = int(self._position.pipelines.numpy())
    if pipelines == self._pipelines:
      return start
    rescaled = start * pipelines // self._pipelines
    logging.warning(
        'The checkpoint was written by a run with %d input pipelines (workers), this run '
        'has %d: each worker continues at example %d of its new shard, the same point '
        'of the epoch (in this epoch some examples may repeat or be left out).',
        pipelines, self._pipelines, rescaled)
    self._position.pipelines.assign(self._pipelines)
    self._position.examples.assign(rescaled)
    return rescaled


class HostIterator:
  """Per-replica batches from one `tf.data` iterator, which is `iterator`.

  On one host the strategy builds a single input pipeline and hands its
  consecutive per-replica batches to consecutive replicas; this does the
  same with the strategy's `experimental_distribute_values_from_function`,
  so that the plain `tf.data` iterator can be saved and restored bit for
  bit. Orbit calls `iter()` on it; it is its own iterator.
  """

  def __init__(self, strategy: tf.distribute.Strategy, dataset: tf.data.Dataset):
    self._strategy = strategy
    self._replicas = strategy.num_replicas_in_sync
    with tf.device('/cpu:0'):
      self.iterator = iter(dataset)

  def __iter__(self):
    return self

  def __next__(self):
    batches = [next(self.iterator) for _ in range(self._replicas)]
    return self._strategy.experimental_distribute_values_from_function(
        lambda context: batches[context.replica_id_in_sync_group])

  @property
  def element_spec(self):
    return self.iterator.element_spec


def _host_dataset(strategy, dataset_fn, *args) -> tf.data.Dataset:
  """`dataset_fn(*args, input_context=...)` as the strategy would build it on one host."""
  kwargs = {}
  if 'input_context' in inspect.signature(dataset_fn).parameters:
    kwargs['input_context'] = tf.distribute.InputContext(
        num_input_pipelines=1, input_pipeline_id=0,
        num_replicas_in_sync=strategy.num_replicas_in_sync)
  with tf.device('/cpu:0'):
    return dataset_fn(*args, **kwargs)


class _Recorder:
  """`dataset_fn` that also keeps the datasets and input contexts it was called with.

  Its `input_context` is a positional parameter, which is what Orbit looks
  for: a wrapper with a keyword-only one (`*args, input_context=None`) would
  silently get none, and every worker would read everything at the global
  batch size.
  """

  def __init__(self, dataset_fn):
    self._fn = dataset_fn
    self._takes_context = 'input_context' in inspect.signature(dataset_fn).parameters
    self.datasets, self.contexts = [], []

  def __call__(self, params, input_context=None):  # Orbit looks for a positional name.
    kwargs = {'input_context': input_context} if self._takes_context else {}
    self.contexts.append(input_context)
    self.datasets.append(self._fn(params, **kwargs))
    return self.datasets[-1]

  def pipelines(self) -> int:
    """Input pipelines of the run (workers), from the first call's context."""
    context = self.contexts[0] if self.contexts else None
    return context.num_input_pipelines if context else 1


class _Builder:
  """Builds the task's input at a position, as one host or tf.distribute reads it."""

  def __init__(self, strategy, dataset_fn, args, distribute):
    self.strategy = strategy
    self._fn, self._args, self._distribute = dataset_fn, args, distribute

  def __call__(self, start: int, seed: int, host: bool):
    """(the build's record, the recorder, a tf.data dataset if `host` else a distributed one)."""
    recorder = _Recorder(self._fn)
    with input_position.building(start, seed) as build:
      if host:
        data = _host_dataset(self.strategy, recorder, *self._args)
      else:
        data = self._distribute(recorder, *self._args)
    return build, recorder, data


def train_input(strategy: tf.distribute.Strategy, dataset_fn: Callable[..., Any], *args,
                distribute: Callable[..., Any], global_step: tf.Variable
                ) -> Tuple[Any, Dict[str, Any]]:
  """(what the trainer iterates, what the resume checkpoint adds for the input).

  Args:
    strategy: the run's strategy.
    dataset_fn: the task's `build_inputs`; `*args` are passed to it.
    distribute: `fn(dataset_fn, *args)` -> a distributed dataset (the trainer's).
    global_step: the trainer's step, to tell a checkpoint without a position.
  """
  one_host = supports(strategy)
  builder = _Builder(strategy, dataset_fn, args, distribute)
  position = Position(pipelines=1, seed=getattr(args[0], 'seed', None) if args else None)
  build, recorder, probe = builder(0, int(position.seed.numpy()), host=one_host)
  if _positional(build, recorder.datasets):
    position.pipelines.assign(recorder.pipelines())
    _warn_random_ops(recorder.datasets[0])
    return _positional_input(builder, build.batch_sizes[0], probe, position, one_host,
                             global_step), {'train_input': position}
  if not one_host:
    return probe, {}
  return _whole_iterator(strategy, probe, from_reader=bool(build.batch_sizes))


def _positional_input(builder: _Builder, batch_size: int, probe, position: Position,
                      one_host: bool, global_step: tf.Variable) -> PositionalInput:
  strategy = builder.strategy
  host = one_host and not on_accelerators(strategy)

  def rebuild(start, seed):
    data = builder(start, seed, host)[2]
    return HostIterator(strategy, data) if host else data
  fresh = HostIterator(strategy, probe) if host else None if one_host else probe
  per_next = (batch_size * strategy.num_replicas_in_sync //
              int(position.pipelines.numpy()))
  return PositionalInput(rebuild, position, per_next, fresh, global_step)


def _whole_iterator(strategy, dataset: tf.data.Dataset, from_reader: bool):
  """A HostIterator, and its `tf.data` iterator as `train_iterator` if it can be saved."""
  iterator = HostIterator(strategy, dataset)
  if from_reader:
    logging.warning(
        'The training input changes the batches of input_reader.read (filter, unbatch, '
        'rebatch, or several readers), so its position cannot be counted in examples: '
        'checkpoints keep the weights and the step, and a resume restarts the input, '
        'as in TFM. Map over the batches read() gives to keep an exact resume.')
    return iterator, {}
  return iterator, ({} if _not_saved(dataset) else {'train_iterator': iterator.iterator})


def _positional(build: input_position.Build, datasets) -> bool:
  """One reader stream per pipeline, and one reader batch per trainer batch."""
  return (len(datasets) == 1 and len(build.batch_sizes) == 1 and
          input_position.one_batch_per_batch(datasets[0], build))


def _warn_random_ops(dataset: tf.data.Dataset) -> None:
  ops = [op for op in input_checks.random_ops(dataset)
         if op not in input_checks.SEED_GENERATORS]  # The stream's own epoch shuffles.
  if ops:
    logging.warning(
        'The training input resumes at its position, but %s in its pipeline %s stateful: '
        'after a resume its random augmentation differs from an uninterrupted run. For '
        'an exact resume, use %s, seeded with the example seed input_reader.read gives a '
        "decode_fn that has a 'seed' parameter.", ', '.join(ops),
        'is' if len(ops) == 1 else 'are', input_checks.hint(ops))


def _not_saved(dataset: tf.data.Dataset) -> bool:
  """True (after one line saying why) when the iterator is left out of checkpoints."""
  ops = input_checks.unsaveable_ops(dataset)
  if ops:
    logging.warning(
        'The training input cannot be saved in checkpoints: its pipeline uses the '
        'stateful %s. Checkpoints keep the weights and the step, and a resume restarts '
        'the input, as in TFM. For an exact resume, use %s (and shuffle(..., seed=...) '
        'or runtime.seed).', ', '.join(ops), input_checks.hint(ops))
    return True
  size = input_checks.too_big(dataset)
  if size:
    logging.warning(
        "The training input's shuffle buffers would add %.0f MB to every checkpoint; "
        'they are not saved, and a resume restarts the input, as in TFM. Build the '
        'input with official_like.core.input_reader.read: its position takes a few '
        'bytes whatever the buffer.', size / 2**20)
    return True
  return False
