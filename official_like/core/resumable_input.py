"""A training input whose position a checkpoint can hold, for one-host strategies.

tf.distribute's iterators are not trackable (TF 2.20, OneDevice and
Mirrored included), so a checkpoint cannot save where the input stopped.
On one host the strategy builds a single input pipeline anyway and hands
its consecutive per-replica batches to consecutive replicas. `HostIterator`
does exactly that itself, with the strategy's own
`experimental_distribute_values_from_function`, so that the pipeline's
plain `tf.data` iterator - shuffle buffer, epoch seeds, prefetched batches -
can be saved and restored bit for bit. The replicas receive the same batches
as from `distribute_datasets_from_function`; what is lost is the
strategy's prefetch to accelerators.

Multi-worker and TPU strategies keep tf.distribute's own iterators: each
worker would need its own iterator state, and only the chief's is saved.
"""
import inspect
from typing import Any, Callable

import tensorflow as tf


def supports(strategy: tf.distribute.Strategy) -> bool:
  """True for the default strategy, OneDevice and single-host Mirrored."""
  if not tf.distribute.has_strategy() and strategy is tf.distribute.get_strategy():
    return True
  one_host = (tf.distribute.OneDeviceStrategy, tf.distribute.MirroredStrategy)
  return isinstance(strategy, one_host) and strategy.cluster_resolver is None


class HostIterator:
  """Per-replica batches from one `tf.data` iterator, which is `iterator`.

  Orbit calls `iter()` on the train dataset; this object is its own
  iterator, so the iterator the trainer checkpoints is the one Orbit reads.
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


def host_iterator(strategy: tf.distribute.Strategy, dataset_fn: Callable[..., Any],
                  *args, **kwargs) -> HostIterator:
  """Builds `dataset_fn(*args, input_context=...)` as the strategy would on one host."""
  if 'input_context' in inspect.signature(dataset_fn).parameters:
    kwargs['input_context'] = tf.distribute.InputContext(
        num_input_pipelines=1, input_pipeline_id=0,
        num_replicas_in_sync=strategy.num_replicas_in_sync)
  with tf.device('/cpu:0'):
    dataset = dataset_fn(*args, **kwargs)
  return HostIterator(strategy, dataset)
