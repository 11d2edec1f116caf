"""Turns data settings into a `tf.data.Dataset` for a distributed train/eval loop.

`read` builds the input of official_like's tasks; the class `InputReader`
offers TFM's constructor and stages on the same pipeline (TFM's model zoo
builds and subclasses it). Three sources: TFRecord files
(`params.input_path`), a TFDS dataset (`params.tfds_name`, when
tensorflow-datasets is installed) and NumPy arrays held in memory (neither
set; `read` only). `params` is anything with TFM's DataConfig
attribute names; every DataConfig field that official_like accepts is
applied here (`cycle_length`, `block_length`, `deterministic`, `sharding`,
`ram_budget`, `autotune_algorithm`, `prefetch_buffer_size`, ...).

The pipeline, in order: list files -> shard (files or examples) -> decode ->
[cache] -> [shuffle -> repeat] (training only) -> batch -> prefetch.
"""
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import tensorflow as tf

from official_like.core import file_patterns
from official_like.modeling.hyperparams import base_config

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
  if getattr(params, 'tfds_name', ''):
    dataset = _tfds(params, input_context)
  elif params.input_path:
    if decode_fn is None:
      raise ValueError('`decode_fn` is required to read `input_path` '
                       f'{params.input_path!r}.')
    dataset = file_records(match_files(params.input_path), params,
                           input_context=input_context)
    dataset = dataset.map(decode_fn, num_parallel_calls=tf.data.AUTOTUNE)
  else:
    if arrays is None:
      raise ValueError('`input_path` is empty, so `arrays` must be given.')
    dataset = tf.data.Dataset.from_tensor_slices(arrays)
    num_pipelines, pipeline_id = _shard_of(params, input_context)
    if num_pipelines > 1:
      dataset = dataset.shard(num_pipelines, pipeline_id)

  dataset = dataset.with_options(_options(params))
  if getattr(params, 'cache', False):
    dataset = dataset.cache()  # Decoded examples; later epochs skip I/O.
  dataset = example_stream(dataset, params)
  dataset = dataset.batch(per_replica_batch_size(params.global_batch_size, input_context),
                          drop_remainder=getattr(params, 'drop_remainder', True))
  return prefetch(dataset, params)


def per_replica_batch_size(global_batch_size: int,
                           input_context: Optional[tf.distribute.InputContext]) -> int:
  return (input_context.get_per_replica_batch_size(global_batch_size)
          if input_context else global_batch_size)


def example_stream(dataset: tf.data.Dataset, params: Any) -> tf.data.Dataset:
  """Where examples become the stream training reads: shuffled and repeated.

  The one place for it, used by `read` and by `InputReader`. Evaluation
  reads one pass in order. Shuffle comes before repeat: each epoch is a
  full, reshuffled pass.
  """
  if not params.is_training:
    return dataset
  buffer_size = params.shuffle_buffer_size
  if not isinstance(buffer_size, int) or buffer_size <= 0:
    raise ValueError('`shuffle_buffer_size` must be a positive int when '
                     f'training, got {buffer_size!r}.')
  return dataset.shuffle(buffer_size, seed=getattr(params, 'seed', None),
                         reshuffle_each_iteration=True).repeat()


def prefetch(dataset: tf.data.Dataset, params: Any) -> tf.data.Dataset:
  return dataset.prefetch(getattr(params, 'prefetch_buffer_size', None) or tf.data.AUTOTUNE)


def _shard_of(params: Any, input_context: Optional[tf.distribute.InputContext]):
  """(number of input pipelines, this pipeline's index); (1, 0) when not sharding."""
  if input_context is None or not getattr(params, 'sharding', True):
    return 1, 0
  return input_context.num_input_pipelines, input_context.input_pipeline_id


def file_records(files: Sequence[str], params: Any,
                 dataset_fn: Callable[..., tf.data.Dataset] = tf.data.TFRecordDataset,
                 input_context: Optional[tf.distribute.InputContext] = None
                 ) -> tf.data.Dataset:
  """This pipeline's share of the records in `files`, read with `dataset_fn`."""
  num_pipelines, pipeline_id = _shard_of(params, input_context)
  dataset = tf.data.Dataset.from_tensor_slices(list(files))
  shard_files = len(files) >= num_pipelines
  if shard_files and num_pipelines > 1:
    # Each pipeline reads only its own files: no wasted reads, and shards
    # are disjoint because every worker lists the same sorted files.
    dataset = dataset.shard(num_pipelines, pipeline_id)
  if params.is_training:
    # After sharding, so workers need no common seed to stay disjoint.
    dataset = dataset.shuffle(len(files), seed=getattr(params, 'seed', None))
  dataset = dataset.interleave(
      dataset_fn,
      cycle_length=(getattr(params, 'cycle_length', None)
                    or min(len(files), _MAX_CYCLE_LENGTH)),
      block_length=getattr(params, 'block_length', 1),
      num_parallel_calls=tf.data.AUTOTUNE)
  if not shard_files:
    # Too few files to give each pipeline one: every pipeline reads them
    # all and keeps every num_pipelines-th example.
    dataset = dataset.shard(num_pipelines, pipeline_id)
  return dataset


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


def _tfds(params: Any, input_context: Optional[tf.distribute.InputContext]
          ) -> tf.data.Dataset:
  """This pipeline's shard of a TFDS split, read as TFM's InputReader reads it."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  num_pipelines, pipeline_id = _shard_of(params, input_context)
  interleave = {'interleave_block_length': getattr(params, 'block_length', 1)}
  if getattr(params, 'cycle_length', None):
    interleave['interleave_cycle_length'] = params.cycle_length
  read_config = tfds.ReadConfig(shuffle_seed=getattr(params, 'seed', None), **interleave)
  skip = getattr(params, 'tfds_skip_decoding_feature', '')
  decoders = {name: tfds.decode.SkipDecoding() for name in skip.split(',') if name}
  dataset = tfds.load(
      params.tfds_name, split=params.tfds_split or 'train',
      data_dir=getattr(params, 'tfds_data_dir', '') or None,
      as_supervised=getattr(params, 'tfds_as_supervised', False),
      shuffle_files=bool(params.is_training), read_config=read_config,
      decoders=decoders or None)
  return dataset.shard(num_pipelines, pipeline_id) if num_pipelines > 1 else dataset


def _maybe_map(dataset: tf.data.Dataset, fn: Optional[Callable[..., Any]]) -> tf.data.Dataset:
  return dataset if fn is None else dataset.map(fn, num_parallel_calls=tf.data.AUTOTUNE)


class InputReader:
  """TFM's `InputReader` on the pipeline of `read`, for code written against TFM.

  TFM's model zoo builds one with its own stages (its NLP dataloaders) or
  subclasses it (`official/vision/dataloaders/input_reader.py`), so the
  constructor, `read(input_context)` and the stage methods a subclass calls
  (`_read_data_source`, `_decode_and_parse_dataset`,
  `_maybe_apply_data_service`) keep TFM's names and order: records ->
  decode -> [cache] -> shuffle/repeat (`example_stream`) -> combine ->
  sample -> parse -> filter -> batch -> postprocess -> prefetch.
  """

  def __init__(self, params: Any,
               dataset_fn: Callable[..., tf.data.Dataset] = tf.data.TFRecordDataset,
               decoder_fn: Optional[Callable[..., Any]] = None,
               combine_fn: Optional[Callable[..., Any]] = None,
               sample_fn: Optional[Callable[..., Any]] = None,
               parser_fn: Optional[Callable[..., Any]] = None,
               filter_fn: Optional[Callable[..., tf.Tensor]] = None,
               transform_and_batch_fn: Optional[Callable[..., tf.data.Dataset]] = None,
               postprocess_fn: Optional[Callable[..., Any]] = None):
    """`params` is a DataConfig; each `*_fn` is one optional stage (see the class doc).

    Raises:
      ValueError: both or neither of `input_path` and `tfds_name`/`tfds_split`
        are set, or a dict of sources comes without a `combine_fn`.
    """
    if params.input_path and params.tfds_name:
      raise ValueError('set either input_path or tfds_name, not both; got '
                       f'{params.input_path!r} and {params.tfds_name!r}')
    if combine_fn is None and any(isinstance(source, base_config.Config)
                                  for source in (params.input_path, params.tfds_name)):
      raise ValueError('input_path or tfds_name is a dict of sources: a combine_fn is required')
    if not params.input_path and not params.tfds_split:
      raise ValueError(f'tfds_name is {params.tfds_name!r}, but tfds_split is not set')
    self._params = params
    self._matched_files = self.get_files(params.input_path)
    self._global_batch_size = params.global_batch_size
    self._is_training = params.is_training
    self._drop_remainder = params.drop_remainder
    self._deterministic = params.deterministic
    self._cache = params.cache
    self._seed = params.seed
    self._dataset_fn = dataset_fn
    self._decoder_fn = decoder_fn
    self._combine_fn = combine_fn
    self._sample_fn = sample_fn
    self._parser_fn = parser_fn
    self._filter_fn = filter_fn
    self._transform_and_batch_fn = transform_and_batch_fn
    self._postprocess_fn = postprocess_fn

  def get_files(self, input_path: Any) -> Union[None, List[str], Dict[str, List[str]]]:
    """The files of `input_path`; a dict of file lists for a dict of sources."""
    if not input_path:
      return None
    if isinstance(input_path, base_config.Config):
      return {name: match_files(path) for name, path in input_path.as_dict().items()}
    return match_files(input_path)

  def _read_data_source(self, matched_files, dataset_fn,
                        input_context: Optional[tf.distribute.InputContext] = None):
    """Raw records: one dataset, or a dict of them for a dict of sources."""
    if self._params.tfds_name:
      return _tfds(self._params, input_context)
    if isinstance(matched_files, dict):
      return {name: file_records(files, self._params, dataset_fn, input_context)
              for name, files in matched_files.items()}
    return file_records(matched_files, self._params, dataset_fn, input_context)

  def _decode_and_parse_dataset(self, dataset, batch_size: int,
                                input_context: Optional[tf.distribute.InputContext] = None
                                ) -> tf.data.Dataset:
    """Decoded, shuffled and repeated (when training), combined, parsed and batched."""

    def examples(records):
      records = _maybe_map(records, self._decoder_fn)
      return example_stream(records.cache() if self._cache else records, self._params)

    dataset = tf.nest.map_structure(examples, dataset)
    if tf.nest.is_nested(dataset):
      dataset = self._combine_fn(dataset)
    if self._sample_fn is not None:
      dataset = dataset.apply(self._sample_fn)
    dataset = _maybe_map(dataset, self._parser_fn)
    if self._filter_fn is not None:
      dataset = dataset.filter(self._filter_fn)
    if self._transform_and_batch_fn is not None:
      return self._transform_and_batch_fn(dataset, input_context)
    return dataset.batch(per_replica_batch_size(batch_size, input_context),
                         drop_remainder=self._drop_remainder)

  def _maybe_apply_data_service(self, dataset: tf.data.Dataset,
                                input_context: Optional[tf.distribute.InputContext] = None
                                ) -> tf.data.Dataset:
    """The tf.data service is refused by DataConfig.validate(), so: unchanged."""
    del input_context
    return dataset

  def read(self, input_context: Optional[tf.distribute.InputContext] = None,
           dataset: Optional[tf.data.Dataset] = None) -> tf.data.Dataset:
    """The batched, prefetched dataset; `dataset` replaces the raw records if given."""
    if dataset is None:
      dataset = self._read_data_source(self._matched_files, self._dataset_fn, input_context)
    dataset = self._decode_and_parse_dataset(dataset, self._global_batch_size, input_context)
    dataset = _maybe_map(dataset, self._postprocess_fn)
    return prefetch(dataset.with_options(_options(self._params)), self._params)
