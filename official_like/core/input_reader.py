"""Turns data settings into a `tf.data.Dataset` for a distributed train/eval loop.

`read` builds the input of official_like's tasks; the class `InputReader`
offers TFM's constructor and stages on the same pipeline (TFM's model zoo
builds and subclasses it). Three sources: TFRecord files
(`params.input_path`), a TFDS dataset (`params.tfds_name`, when
tensorflow-datasets is installed) and NumPy arrays held in memory (neither
set; `read` only). `params` is anything with TFM's DataConfig
attribute names; every DataConfig field that official_like accepts is
applied here or in its stages (`cycle_length`, `block_length`, `deterministic`, `sharding`,
`ram_budget`, `autotune_algorithm`, `prefetch_buffer_size`, ...).

The pipeline, in order: list files -> shard (files or examples) -> [per
epoch: shuffle the files -> interleave -> shuffle the raw records] (training)
-> decode -> batch -> prefetch. Training is an endless stream of epochs,
each a pure function of (seed, epoch) (`input_position.epochs`), so a
checkpoint holds the input as a count of examples, and a resume drops raw
records without decoding them. With `cache`, decoded examples are cached and
shuffled each epoch; arrays are indexed, and gathered a batch at a time.
TFDS keeps TFM's order (its iterator is checkpointed whole, `resumable_input`).
The stages both readers share (file records, TFDS, options, prefetch) live in
`run/input_stages.py`.
"""
import inspect
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Union

import tensorflow as tf

from official_like.modeling.hyperparams import base_config
from official_like.run import file_patterns
from official_like.run import input_position
from official_like.run import input_stages


def match_files(input_path: Union[str, Sequence[str]]) -> List[str]:
  """The files `input_path` names, listed with tf.io.gfile (remote paths too)."""
  return file_patterns.match_files(input_path, tf.io.gfile.glob)


def read(params: Any,
         *,
         decode_fn: Optional[Callable[..., Any]] = None,
         arrays: Any = None,
         input_context: Optional[tf.distribute.InputContext] = None
         ) -> tf.data.Dataset:
  """Builds the batched, prefetched dataset described by `params`.

  Args:
    params: data settings with DataConfig attribute names (see module doc).
    decode_fn: maps one serialized tf.Example to an example; required when
      `params.input_path` is set, unused for `arrays`. If it has a `seed`
      parameter, it also gets the example's own [2] int64 seed, for
      stateless augmentation (`tf.image.stateless_random_*`) that an exact
      resume reproduces.
    arrays: tuple/dict of NumPy arrays (first axis = examples), read only when
      `params.input_path` is '' so a caller may always pass them and let the
      config choose the source.
    input_context: from `strategy.distribute_datasets_from_function`; selects
      this pipeline's shard and the per-replica batch size. None = one replica.

  Returns:
    A dataset of per-replica batches; infinite when training, one pass
    otherwise.
  """
  batch_size = input_stages.per_replica_batch_size(params.global_batch_size, input_context)
  training = bool(params.is_training)
  if training:
    _check_shuffle_buffer(params.shuffle_buffer_size)
  seed = getattr(params, 'seed', None)
  shard = input_stages.shard_of(params, input_context)
  if getattr(params, 'tfds_name', ''):
    dataset = _tfds_batches(params, shard, seed, batch_size, training)
  else:
    source = (_tfrecords(params, decode_fn, *shard) if params.input_path
              else _arrays(arrays, *shard))
    dataset = _batches(source, params, seed, batch_size, training)
  return input_stages.prefetch(dataset, params)


def _check_shuffle_buffer(shuffle_buffer_size: Any) -> None:
  if not isinstance(shuffle_buffer_size, int) or shuffle_buffer_size <= 0:
    raise ValueError('`shuffle_buffer_size` must be a positive int when '
                     f'training, got {shuffle_buffer_size!r}.')


def _tfds_batches(params: Any, shard, seed: Optional[int], batch_size: int,
                  training: bool) -> tf.data.Dataset:
  """Batches of a TFDS split in TFM's order: [cache] -> [shuffle -> repeat] -> batch."""
  dataset = input_stages.tfds_records(params, training, *shard, seed).with_options(
      input_stages.options(params))
  if getattr(params, 'cache', False):
    dataset = dataset.cache()
  if training:
    dataset = dataset.shuffle(params.shuffle_buffer_size, seed=seed).repeat()
  return dataset.batch(batch_size, drop_remainder=getattr(params, 'drop_remainder', True))


def _batches(source: '_Source', params: Any, seed: Optional[int], batch_size: int,
             training: bool) -> tf.data.Dataset:
  """Batches of decoded examples: one pass, or endless epochs when training.

  Training streams epochs each shuffled by its own seed
  (`input_position.epochs`): raw records are shuffled and skipped before
  decoding; with `cache`, decoded examples are cached once and shuffled
  every epoch instead. Arrays are gathered a batch at a time.
  """
  buffer = params.shuffle_buffer_size
  drop = getattr(params, 'drop_remainder', True)
  deterministic = getattr(params, 'deterministic', None) is not False
  keys = not source.batched  # Keys give decode_fn its per-example seeds.
  stored = source.records(None)
  stored_keyed = input_position.keyed(stored, tf.constant([seed or 0, 1], tf.int64))
  if getattr(params, 'cache', False):
    cached = source.decode(stored_keyed, deterministic).cache()
    if training:
      cached = input_position.epochs(
          lambda seeds: cached.shuffle(buffer, seed=seeds[0]), seed=seed,
          batch_size=batch_size, examples_per_epoch=source.size, keys=False)
    return cached.with_options(input_stages.options(params)).batch(batch_size, drop_remainder=drop)
  if training:
    records = input_position.epochs(
        lambda seeds: source.records(seeds).shuffle(buffer, seed=seeds[0]), seed=seed,
        batch_size=batch_size, examples_per_epoch=source.size, keys=keys)
  else:
    records = stored_keyed if keys else stored
  records = records.with_options(input_stages.options(params))
  if source.batched:
    return records.batch(batch_size, drop_remainder=drop).map(
        lambda batch: source.decode_one(batch, None))
  return source.decode(records, deterministic).batch(batch_size, drop_remainder=drop)


class _Source(NamedTuple):
  """Raw records of one pipeline's shard, and how they become examples."""
  records: Callable[[Optional[tf.Tensor]], tf.data.Dataset]  # seeds -> one epoch.
  decode_one: Callable[[Any, Any], Any]  # (record, input_position key) -> example.
  size: Optional[int]  # Records an epoch, when known without reading.
  batched: bool = False  # decode_one takes a batch of records (and no key).

  def decode(self, keyed: tf.data.Dataset, deterministic: bool) -> tf.data.Dataset:
    """Examples from `(key, record)` pairs."""
    return keyed.map(lambda key, record: self.decode_one(record, key),
                     num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)


def _tfrecords(params: Any, decode_fn, num_pipelines: int, pipeline_id: int) -> _Source:
  """This pipeline's TFRecords, and `decode_fn` as the way to an example."""
  if decode_fn is None:
    raise ValueError('`decode_fn` is required to read `input_path` '
                     f'{params.input_path!r}.')
  records = input_stages.file_records(match_files(params.input_path), params, num_pipelines,
                                      pipeline_id)
  return _Source(records, _decoder(decode_fn), None)


def _decoder(decode_fn):
  """(record, key) -> decode_fn's example, given the example's seed if it takes one."""
  if 'seed' in inspect.signature(decode_fn).parameters:
    return lambda record, key: decode_fn(record, seed=input_position.example_seed(key))
  return lambda record, key: decode_fn(record)


def _arrays(arrays: Any, num_pipelines: int, pipeline_id: int) -> _Source:
  """Records are indices into this pipeline's rows of `arrays` (every num_pipelines-th)."""
  if arrays is None:
    raise ValueError('`input_path` is empty, so `arrays` must be given.')
  rows = tf.nest.map_structure(lambda a: tf.constant(a[pipeline_id::num_pipelines]), arrays)
  size = int(tf.nest.flatten(rows)[0].shape[0])
  return _Source(lambda seeds: tf.data.Dataset.range(size),
                 lambda indices, key: tf.nest.map_structure(
                     lambda t: tf.gather(t, indices), rows), size, batched=True)


def _maybe_map(dataset: tf.data.Dataset, fn: Optional[Callable[..., Any]]) -> tf.data.Dataset:
  return dataset if fn is None else dataset.map(fn, num_parallel_calls=tf.data.AUTOTUNE)


class InputReader:
  """TFM's `InputReader` on the pipeline of `read`, for code written against TFM.

  TFM's model zoo builds one with its own stages (its NLP dataloaders) or
  subclasses it (`official/vision/dataloaders/input_reader.py`), so the
  constructor, `read(input_context)` and the stage methods a subclass calls
  (`_read_data_source`, `_decode_and_parse_dataset`,
  `_maybe_apply_data_service`) keep TFM's names and order: records ->
  [shuffle] -> decode -> [combine] -> [sample] -> parse -> [filter] ->
  [cache -> repeat -> shuffle] -> batch -> postprocess -> prefetch.

  Training on files whose stages keep one example per record (no combine,
  sample, filter, cache or custom batching) reads `read`'s positional stream:
  each epoch's files and records are shuffled by (seed, epoch), so a
  checkpoint holds the input as a count of examples (`input_position`).
  Otherwise records repeat and shuffle as in TFM, and the trainer saves the
  input's iterator or, when it cannot, says so once and restarts it.
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
    self._records_shuffled = False  # True while `read` decodes its positional stream.

  def get_files(self, input_path: Any) -> Union[None, List[str], Dict[str, List[str]]]:
    """The files of `input_path`; a dict of file lists for a dict of sources."""
    if not input_path:
      return None
    if isinstance(input_path, base_config.Config):
      return {name: match_files(path) for name, path in input_path.as_dict().items()}
    return match_files(input_path)

  def _read_data_source(self, matched_files, dataset_fn,
                        input_context: Optional[tf.distribute.InputContext] = None):
    """Raw records, endless when training: one dataset, or a dict for a dict of sources."""
    shard = input_stages.shard_of(self._params, input_context)
    if self._params.tfds_name:
      dataset = input_stages.tfds_records(self._params, self._is_training, *shard, self._seed)
    elif isinstance(matched_files, dict):
      return {name: self._read_data_source(files, dataset_fn, input_context)
              for name, files in matched_files.items()}
    else:
      dataset = input_stages.file_records(matched_files, self._params, *shard, dataset_fn)(None)
    return dataset.repeat() if self._is_training and not self._cache else dataset

  def _positional(self) -> bool:
    """Whether training can read the positional stream (see the class doc)."""
    one_per_record = not any((self._combine_fn, self._sample_fn, self._filter_fn,
                              self._transform_and_batch_fn, self._cache))
    own_source = type(self)._read_data_source is InputReader._read_data_source
    return (self._is_training and one_per_record and own_source
            and isinstance(self._matched_files, list))

  def _positional_records(self, input_context) -> tf.data.Dataset:
    records = input_stages.file_records(
        self._matched_files, self._params, *input_stages.shard_of(self._params, input_context),
        self._dataset_fn)
    buffer = self._params.shuffle_buffer_size
    return input_position.epochs(
        lambda seeds: records(seeds).shuffle(buffer, seed=seeds[0]), seed=self._seed,
        batch_size=input_stages.per_replica_batch_size(self._global_batch_size, input_context),
        keys=False)

  def _decode_and_parse_dataset(self, dataset, batch_size: int,
                                input_context: Optional[tf.distribute.InputContext] = None
                                ) -> tf.data.Dataset:
    """Shuffled (when training) and decoded, combined, parsed, filtered and batched."""

    def shuffle_and_decode(records):
      if self._is_training and not self._cache and not self._records_shuffled:
        records = records.shuffle(self._params.shuffle_buffer_size, seed=self._seed)
      return _maybe_map(records, self._decoder_fn)

    dataset = tf.nest.map_structure(shuffle_and_decode, dataset)
    if tf.nest.is_nested(dataset):
      dataset = self._combine_fn(dataset)
    if self._sample_fn is not None:
      dataset = dataset.apply(self._sample_fn)
    dataset = _maybe_map(dataset, self._parser_fn)
    if self._filter_fn is not None:
      dataset = dataset.filter(self._filter_fn)
    if self._cache:
      dataset = dataset.cache()
      if self._is_training:
        dataset = dataset.repeat().shuffle(self._params.shuffle_buffer_size, seed=self._seed)
    if self._transform_and_batch_fn is not None:
      return self._transform_and_batch_fn(dataset, input_context)
    return dataset.batch(input_stages.per_replica_batch_size(batch_size, input_context),
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
    self._records_shuffled = dataset is None and self._positional()
    if self._records_shuffled:
      dataset = self._positional_records(input_context)
    elif dataset is None:
      dataset = self._read_data_source(self._matched_files, self._dataset_fn, input_context)
    try:
      dataset = self._decode_and_parse_dataset(dataset, self._global_batch_size,
                                               input_context)
    finally:
      self._records_shuffled = False
    dataset = _maybe_map(dataset, self._postprocess_fn)
    return input_stages.prefetch(dataset.with_options(input_stages.options(self._params)),
                                 self._params)
