"""`write_small_dataset`: a handful of tf.train.Examples to one file, as TFM's tests do.

TFM's zoo tests build their fixtures with it. It writes record by record, so
it is meant for test-sized data, not for converting a dataset.
"""
from typing import Optional, Sequence, Union

import tensorflow as tf

Example = Union[tf.train.Example, tf.train.SequenceExample]
# Accepted spellings (case-insensitive) -> TFRecord compression ('' = none).
_TFRECORD_COMPRESSION = {'tfrecord': '', 'tfrecords': '',
                         'tfrecord_compressed': 'GZIP', 'tfrecords_gzip': 'GZIP'}


def write_small_dataset(examples: Sequence[Example], output_path: str,
                        file_type: str = 'tfrecord') -> None:
  """Writes `examples` to `output_path` as `file_type`.

  Args:
    examples: tf.train.Example or SequenceExample protos.
    output_path: the file to write.
    file_type: 'tfrecord'/'tfrecords', 'tfrecord_compressed'/'tfrecords_gzip'
      (GZIP), or 'riegeli' (needs the riegeli package); any case.

  Raises:
    ValueError: an unknown `file_type`.
  """
  kind = file_type.lower()
  if kind == 'riegeli':
    _write_riegeli(examples, output_path)
    return
  if kind not in _TFRECORD_COMPRESSION:
    raise ValueError(f'file_type: unknown {file_type!r}; use one of '
                     f"{', '.join(sorted(_TFRECORD_COMPRESSION))} or riegeli")
  _write_tfrecord(examples, output_path, _TFRECORD_COMPRESSION[kind])


def _write_tfrecord(examples: Sequence[Example], output_path: str,
                    compression: Optional[str]) -> None:
  options = tf.io.TFRecordOptions(compression_type=compression)
  with tf.io.TFRecordWriter(output_path, options) as writer:
    for example in examples:
      writer.write(example.SerializeToString())


def _write_riegeli(examples: Sequence[Example], output_path: str) -> None:
  import riegeli  # pylint: disable=g-import-not-at-top  (optional dependency)
  with open(output_path, 'wb') as f, riegeli.RecordWriter(f) as writer:
    writer.write_messages(examples)
