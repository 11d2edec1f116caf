"""Turns data settings into a `tf.data.Dataset` for a distributed train/eval loop.

One function, `read`, plays the role of TFM's `InputReader` for three
sources: TFRecord files (`params.input_path`), a TFDS dataset
(`params.tfds_name`, when tensorflow-datasets is installed) and NumPy arrays
held in memory (neither set). `params` is anything with TFM's DataConfig
attribute names; every DataConfig field that official_like accepts is
applied here (`cycle_length`, `block_length`, `deterministic`, `sharding`,
`ram_budget`, `autotune_algorithm`, `prefetch_buffer_size`, ...).

The pipeline, in order: list files -> shard (files or examples) -> decode ->
[cache] -> [shuffle -> repeat] (training only) -> batch -> prefetch.
"""
from typing import Any, Callable, List, Optional, Sequence, Union

import tensorflow as tf

from official_like.core import file_patterns

# Fixed (not AUTOTUNE) so the interleaved order of files, and hence the order
# of examples for a given seed, does not depend on the machine's CPU count.
_MAX_CYCLE_LENGTH = 16


def match_files(input_path: Union[str, Sequence[str]]) -> List[str]:
  """The files `input_path` names, listed with tf.io.gfile (remote paths too)."""
  return file_patterns.match_files(input_path, tf.io.gfile.glob)


def read(params: Any,
         *,
         decode_fn: Optional[Callable[[tf.Tensor], Any]] = None,
         arrays: Any = None,
         input_context: Optional[tf.distribute.InputContext] = None
         ) -> tf.data.Dataset:
  """Builds the batched, prefetched dataset described by `params`.

  Args:
    params: data settings with DataConfig attribute names (see module doc).
    decode_fn: maps one serialized tf.Example to an example; required when
      `params.input_path` is set, unused for `arrays`.
    arrays: tuple/dict of NumPy arrays (first axis = examples), read only when
      `params.input_path` is '' so a caller may always pass them and let the
      config choose the source.
    input_context: from `strategy.distribute_datasets_from_function`; selects
      this pipeline's shard and the per-replica batch size. None = one replica.

  Returns:
    A dataset of per-replica batches; infinite when training, one pass
    otherwise.
  """
  batch_size = (input_context.get_per_replica_batch_size(params.global_batch_size)
                if input_context else params.global_batch_size)
  training = bool(params.is_training)
  shuffle_buffer_size = params.shuffle_buffer_size
  if training and (not isinstance(shuffle_buffer_size, int) or
                   shuffle_buffer_size <= 0):
    raise ValueError('`shuffle_buffer_size` must be a positive int when '
                     f'training, got {shuffle_buffer_size!r}.')
  seed = getattr(params, 'seed', None)
  sharded = input_context is not None and getattr(params, 'sharding', True)
  num_pipelines = input_context.num_input_pipelines if sharded else 1
  pipeline_id = input_context.input_pipeline_id if sharded else 0

  if getattr(params, 'tfds_name', ''):
    dataset = _tfds(params, training, num_pipelines, pipeline_id, seed)
  elif params.input_path:
    if decode_fn is None:
      raise ValueError('`decode_fn` is required to read `input_path` '
                       f'{params.input_path!r}.')
    files = match_files(params.input_path)
    dataset = tf.data.Dataset.from_tensor_slices(files)
    shard_files = len(files) >= num_pipelines
    if shard_files and num_pipelines > 1:
      # Each pipeline reads only its own files: no wasted reads, and shards
      # are disjoint because every worker lists the same sorted files.
      dataset = dataset.shard(num_pipelines, pipeline_id)
    if training:
      # After sharding, so workers need no common seed to stay disjoint.
      dataset = dataset.shuffle(len(files), seed=seed)
    dataset = dataset.interleave(
        tf.data.TFRecordDataset,
        cycle_length=(getattr(params, 'cycle_length', None)
                      or min(len(files), _MAX_CYCLE_LENGTH)),
        block_length=getattr(params, 'block_length', 1),
        num_parallel_calls=tf.data.AUTOTUNE)
    if not shard_files:
      # Too few files to give each pipeline one: every pipeline reads them
      # all and keeps every num_pipelines-th example.
      dataset = dataset.shard(num_pipelines, pipeline_id)
    dataset = dataset.map(decode_fn, num_parallel_calls=tf.data.AUTOTUNE)
  else:
    if arrays is None:
      raise ValueError('`input_path` is empty, so `arrays` must be given.')
    dataset = tf.data.Dataset.from_tensor_slices(arrays)
    if num_pipelines > 1:
      dataset = dataset.shard(num_pipelines, pipeline_id)

  dataset = dataset.with_options(_options(params))
  if getattr(params, 'cache', False):
    dataset = dataset.cache()  # Decoded examples; later epochs skip I/O.
  if training:
    # Shuffle before repeat: each epoch is a full, reshuffled pass.
    dataset = dataset.shuffle(shuffle_buffer_size, seed=seed,
                              reshuffle_each_iteration=True).repeat()
  dataset = dataset.batch(batch_size,
                          drop_remainder=getattr(params, 'drop_remainder',
                                                 True))
  return dataset.prefetch(getattr(params, 'prefetch_buffer_size', None) or tf.data.AUTOTUNE)


def _options(params: Any) -> tf.data.Options:
  """Deterministic order (unless `deterministic: false`), autotuning, no auto-shard.

  Sharding is done by `read` itself, so tf.distribute must not shard again.
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


def _tfds(params: Any, training: bool, num_pipelines: int, pipeline_id: int,
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
