"""Turns data settings into a `tf.data.Dataset` for a distributed train/eval loop.

One function, `read`, plays the role of TFM's `InputReader` for the two
sources this project needs: TFRecord files (`params.input_path`) and NumPy
arrays held in memory (`params.input_path == ''`). `params` is anything with
TFM's DataConfig attribute names (`input_path`, `global_batch_size`,
`is_training`, `drop_remainder`, `shuffle_buffer_size`, `cache`, `seed`).

The pipeline, in order: list files -> shard (files or examples) -> decode ->
[cache] -> [shuffle -> repeat] (training only) -> batch -> prefetch.
"""
from typing import Any, Callable, List, Optional, Sequence, Union

import tensorflow as tf

# Fixed (not AUTOTUNE) so the interleaved order of files, and hence the order
# of examples for a given seed, does not depend on the machine's CPU count.
_MAX_CYCLE_LENGTH = 16


def match_files(input_path: Union[str, Sequence[str]]) -> List[str]:
  """Expands `input_path` (a glob, comma-separated globs, or a list of them).

  Every glob must match at least one file: a typo in one of several globs
  would otherwise silently train on less data. Literal paths go through glob
  too, so a missing file fails here, before any reading starts. The result is
  sorted and de-duplicated so every worker sees the same file list.
  """
  if isinstance(input_path, str):
    input_path = [input_path]
  if not isinstance(input_path, (list, tuple)) or not all(
      isinstance(p, str) for p in input_path):
    raise ValueError('`input_path` must be a str or a list of str, got '
                     f'{input_path!r}.')
  patterns = [p.strip() for path in input_path for p in path.split(',')]
  files = set()
  for pattern in filter(None, patterns):
    matched = tf.io.gfile.glob(pattern)
    if not matched:
      raise ValueError(f'`input_path` {input_path!r}: no file matched the '
                       f'glob {pattern!r}.')
    files.update(matched)
  if not files:
    raise ValueError(f'`input_path` {input_path!r} contains no glob.')
  return sorted(files)


def _per_replica_batch_size(global_batch_size: Any,
                            input_context: Optional[tf.distribute.InputContext]
                            ) -> int:
  """Checks `global_batch_size` up front, with a message naming the key."""
  if (isinstance(global_batch_size, bool) or
      not isinstance(global_batch_size, int) or global_batch_size <= 0):
    raise ValueError('`global_batch_size` must be a positive int, got '
                     f'{global_batch_size!r}.')
  if input_context is None:
    return global_batch_size
  replicas = input_context.num_replicas_in_sync
  if global_batch_size % replicas:
    raise ValueError(f'`global_batch_size` {global_batch_size} is not '
                     f'divisible by the {replicas} replicas in sync.')
  return input_context.get_per_replica_batch_size(global_batch_size)


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
  # Validate everything before touching any data so bad configs fail fast.
  batch_size = _per_replica_batch_size(params.global_batch_size, input_context)
  training = bool(params.is_training)
  shuffle_buffer_size = params.shuffle_buffer_size
  if training and (not isinstance(shuffle_buffer_size, int) or
                   shuffle_buffer_size <= 0):
    raise ValueError('`shuffle_buffer_size` must be a positive int when '
                     f'training, got {shuffle_buffer_size!r}.')
  seed = getattr(params, 'seed', None)
  num_pipelines = input_context.num_input_pipelines if input_context else 1
  pipeline_id = input_context.input_pipeline_id if input_context else 0

  if params.input_path:
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
        cycle_length=min(len(files), _MAX_CYCLE_LENGTH),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if not shard_files:
      # Too few files to give each pipeline one: every pipeline reads them
      # all and keeps every num_pipelines-th example.
      dataset = dataset.shard(num_pipelines, pipeline_id)
    dataset = dataset.map(decode_fn, num_parallel_calls=tf.data.AUTOTUNE,
                          deterministic=True)
  else:
    if arrays is None:
      raise ValueError('`input_path` is empty, so `arrays` must be given.')
    dataset = tf.data.Dataset.from_tensor_slices(arrays)
    if num_pipelines > 1:
      dataset = dataset.shard(num_pipelines, pipeline_id)

  if input_context is not None:
    # Sharding is done above; stop tf.distribute from sharding a second time.
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.OFF)
    dataset = dataset.with_options(options)
  if getattr(params, 'cache', False):
    dataset = dataset.cache()  # Decoded examples; later epochs skip I/O.
  if training:
    # Shuffle before repeat: each epoch is a full, reshuffled pass.
    dataset = dataset.shuffle(shuffle_buffer_size, seed=seed,
                              reshuffle_each_iteration=True).repeat()
  dataset = dataset.batch(batch_size,
                          drop_remainder=getattr(params, 'drop_remainder',
                                                 True))
  return dataset.prefetch(tf.data.AUTOTUNE)
