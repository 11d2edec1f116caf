"""The tf.data stages `read` and TFM's `InputReader` share (`core/input_reader.py`).

Both pipelines read the same raw records - this pipeline's shard of the
files, interleaved in an order fixed by the seeds, or of a TFDS split - under
the same dataset options and end with the same prefetch; keeping the stages
here gives each one rule a single home, so the two readers cannot drift.
"""
from typing import Any, Callable, Optional, Sequence

import tensorflow as tf

# Fixed (not AUTOTUNE) so the interleaved order of files, and hence the order
# of examples for a given seed, does not depend on the machine's CPU count.
_MAX_CYCLE_LENGTH = 16


def per_replica_batch_size(global_batch_size: int,
                           input_context: Optional[tf.distribute.InputContext]) -> int:
  return (input_context.get_per_replica_batch_size(global_batch_size)
          if input_context else global_batch_size)


def shard_of(params: Any, input_context: Optional[tf.distribute.InputContext]):
  """(number of input pipelines, this pipeline's index); (1, 0) when not sharding."""
  if input_context is None or not getattr(params, 'sharding', True):
    return 1, 0
  return input_context.num_input_pipelines, input_context.input_pipeline_id


def file_records(files: Sequence[str], params: Any, num_pipelines: int, pipeline_id: int,
                 dataset_fn: Callable[..., tf.data.Dataset] = tf.data.TFRecordDataset
                 ) -> Callable[[Optional[tf.Tensor]], tf.data.Dataset]:
  """seeds -> one epoch of this pipeline's records: files in stored order, or shuffled by seeds."""
  shard_files = len(files) >= num_pipelines
  if shard_files:
    # Each pipeline reads only its own files: no wasted reads, and shards
    # are disjoint because every worker lists the same sorted files.
    files = files[pipeline_id::num_pipelines]
  deterministic = getattr(params, 'deterministic', None) is not False

  def records(seeds):
    names = tf.constant(files)
    if seeds is not None:
      names = tf.gather(names, tf.random.experimental.stateless_shuffle(
          tf.range(len(files)), seeds))
    dataset = tf.data.Dataset.from_tensor_slices(names).interleave(
        dataset_fn,
        cycle_length=(getattr(params, 'cycle_length', None)
                      or min(len(files), _MAX_CYCLE_LENGTH)),
        block_length=getattr(params, 'block_length', 1),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
    if not shard_files:
      # Too few files to give each pipeline one: every pipeline reads them
      # all and keeps every num_pipelines-th example (the same file order
      # on every worker, as the seeds are the same).
      dataset = dataset.shard(num_pipelines, pipeline_id)
    return dataset
  return records


def tfds_records(params: Any, training: bool, num_pipelines: int, pipeline_id: int,
                 seed: Optional[int]) -> tf.data.Dataset:
  """This pipeline's shard of a TFDS split, read as TFM's InputReader reads it."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  interleave = {'interleave_block_length': getattr(params, 'block_length', 1)}
  if getattr(params, 'cycle_length', None):
    interleave['interleave_cycle_length'] = params.cycle_length
  read_config = tfds.ReadConfig(shuffle_seed=seed, **interleave)
  skip = getattr(params, 'tfds_skip_decoding_feature', '')
  decoders = {name: tfds.decode.SkipDecoding() for name in skip.split(',') if name}
  dataset = tfds.load(
      params.tfds_name, split=params.tfds_split or 'train',
      data_dir=getattr(params, 'tfds_data_dir', '') or None,
      as_supervised=getattr(params, 'tfds_as_supervised', False),
      shuffle_files=training, read_config=read_config, decoders=decoders or None)
  return dataset.shard(num_pipelines, pipeline_id) if num_pipelines > 1 else dataset


def options(params: Any) -> tf.data.Options:
  """Deterministic order (unless `deterministic: false`), autotuning, no auto-shard.

  The readers shard (`shard_of`) themselves, so tf.distribute must not shard again.
  """
  options = tf.data.Options()
  options.experimental_distribute.auto_shard_policy = (
      tf.data.experimental.AutoShardPolicy.OFF)
  deterministic = getattr(params, 'deterministic', None)
  options.deterministic = True if deterministic is None else deterministic
  algorithm = getattr(params, 'autotune_algorithm', None)
  if algorithm:
    options.autotune.autotune_algorithm = tf.data.experimental.AutotuneAlgorithm[algorithm]
  ram_budget = getattr(params, 'ram_budget', None)
  if ram_budget:
    options.autotune.ram_budget = ram_budget * 1024**3
  return options


def prefetch(dataset: tf.data.Dataset, params: Any) -> tf.data.Dataset:
  return dataset.prefetch(getattr(params, 'prefetch_buffer_size', None) or tf.data.AUTOTUNE)
