"""The training input as a position: a few bytes in the checkpoint, whatever the pipeline.

Saving a `tf.data` iterator saves its buffers: a `shuffle(1000)` of
224x224x3 images made every checkpoint 336 MB, `shuffle(10000)` several GB.
Here, as in Grain and MosaicML Streaming, the state is a number instead:
how many examples this input pipeline has handed to the trainer. That is
enough when epoch `e`'s order is a pure function of (seed, e), which is how
`epochs` builds the stream: each epoch is a fresh, separately seeded pass
(`epoch_fn(epoch_seed)`), and every example gets its own seed from (seed,
epoch, index) for stateless augmentation. To resume at example `p`, the
stream starts at epoch `p // n` and drops the first `p % n` raw records of
it - raw, before any decode or augmentation, so at most one epoch of reads
(plus one of counting when the epoch size `n` is not known, e.g. TFRecords).

Readers (`input_reader.read`) call `epochs` at the one place where raw
records become the training stream. The trainer sets the position with
`building(...)` around the task's `build_inputs`; a reader called outside
it starts at example 0, so `build_inputs` alone gives the same stream a
fresh run trains on.
"""
import contextlib
import dataclasses
import random
import time
from typing import Callable, List, Optional

from absl import logging
import tensorflow as tf

_EPOCHS = 2**62  # "Forever", as a bound tf.data's range accepts.


@dataclasses.dataclass
class Build:
  """One build of the training input: where it starts, and what readers registered."""
  start: int = 0  # Examples this pipeline has already handed to the trainer.
  seed: Optional[int] = None  # The run's input seed when the data config has none.
  batch_sizes: List[int] = dataclasses.field(default_factory=list)


_builds: List[Build] = []


@contextlib.contextmanager
def building(start: int = 0, seed: Optional[int] = None):
  """Readers called inside start their stream at example `start`; yields the `Build`."""
  build = Build(start=start, seed=seed)
  _builds.append(build)
  try:
    yield build
  finally:
    _builds.pop()


def fold(seeds: tf.Tensor, data) -> tf.Tensor:
  """A new [2] int64 seed, a pure function of `seeds` and `data` (hashed by Philox)."""
  return tf.random.stateless_uniform(
      [2], seed=tf.stack([seeds[0], seeds[1] + tf.cast(data, tf.int64)]),
      minval=None, maxval=None, dtype=tf.int64)


def epoch_seed(seed: int, epoch) -> tf.Tensor:
  """The [2] int64 seed of one epoch."""
  return fold(tf.constant([seed, 0], tf.int64), epoch)


def keyed(records: tf.data.Dataset, seeds: tf.Tensor) -> tf.data.Dataset:
  """(key, record) pairs; record i's key is (seeds, i), its seed `example_seed(key)`.

  Only a decode that uses the seed computes it.
  """
  return records.enumerate().map(lambda index, record: ((seeds, index), record))


def example_seed(key) -> tf.Tensor:
  """The [2] int64 seed of the example with this key, for stateless augmentation."""
  seeds, index = key
  return fold(seeds, index)


def count(dataset: tf.data.Dataset) -> int:
  return int(dataset.reduce(tf.constant(0, tf.int64), lambda n, _: n + 1).numpy())


def epochs(epoch_fn: Callable[[tf.Tensor], tf.data.Dataset], *, seed: Optional[int],
           batch_size: int, examples_per_epoch: Optional[int] = None,
           keys: bool = True) -> tf.data.Dataset:
  """The endless training stream of `(key, record)` (see `keyed`), from the build's position.

  Args:
    epoch_fn: `epoch_fn(epoch_seed)` is one epoch of this pipeline's raw
      records in that epoch's order; it must depend on nothing else.
    seed: the data seed; None takes the build's (the run's), else a random one.
    batch_size: the batch the reader forms from this stream; the trainer
      counts consumed examples in it.
    examples_per_epoch: the epoch size if known; else it is counted, only
      when resuming.
    keys: False streams the records alone (no per-example seeds needed).
  """
  build = _builds[-1] if _builds else Build()
  build.batch_sizes.append(batch_size)
  if seed is None:
    seed = build.seed if build.seed is not None else random.SystemRandom().getrandbits(31)
  first_epoch, skip = 0, 0
  if build.start:
    first_epoch, skip = _locate(epoch_fn, seed, build.start, examples_per_epoch)

  def one_epoch(epoch):
    seeds = epoch_seed(seed, epoch)
    records = epoch_fn(seeds)
    return (keyed(records, seeds) if keys else records).skip(
        tf.where(epoch == first_epoch, tf.constant(skip, tf.int64), 0))
  return tf.data.Dataset.range(first_epoch, _EPOCHS).flat_map(one_epoch)


def _locate(epoch_fn, seed: int, start: int, examples_per_epoch: Optional[int]):
  """(epoch, raw records to drop in it) for example `start`; logs it once."""
  began = time.monotonic()
  n = examples_per_epoch
  if n is None:
    n = count(epoch_fn(epoch_seed(seed, 0)))
  if n <= 0:
    raise ValueError('The training input has no examples; it cannot resume at example '
                     f'{start}.')
  epoch, skip = divmod(start, n)
  counted = '' if examples_per_epoch is not None else (
      f', counted in {time.monotonic() - began:.2f} s')
  logging.info('Input resumes at example %d of epoch %d (%d examples an epoch%s): its '
               'first batch reads and drops %d raw records, undecoded.',
               skip, epoch, n, counted, skip)
  return epoch, skip


# Dataset ops that pass every batch on as one batch.
_ONE_TO_ONE = ('_MapDataset', '_ParallelMapDataset', '_PrefetchDataset', '_OptionsDataset')


def one_batch_per_batch(dataset: tf.data.Dataset, build: Build) -> bool:
  """True when each element of `dataset` is one batch of the build's reader.

  Counted examples are batches times the reader's batch size; a
  `build_inputs` that filters, unbatches or rebatches after the reader
  breaks that, and its input is then saved (or not) as hand-written ones.
  """
  node = dataset
  while type(node).__name__ in _ONE_TO_ONE:
    node = node._inputs()[0]  # pylint: disable=protected-access
  size = getattr(node, '_batch_size', None)
  return (type(node).__name__ == '_BatchDataset' and size is not None and
          tf.get_static_value(size) == build.batch_sizes[0])
