"""Writes a bundled dataset as sharded TFRecords, ready for `input_path`.

  python experiments/write_tfrecords.py --dataset=digits \
      --output_dir=/tmp/digits_tfrecords --num_shards=2

writes `train-00000-of-00002.tfrecord`, ... and `validation-...` and prints
one glob per split. From Python: `write('digits', out_dir, 2)` returns the
same globs as a dict. Examples go to shards round-robin (example i to shard
i % num_shards), so interleaving the shards one record at a time gives back
the original order.
"""
import os
from typing import Dict

from absl import app
from absl import flags
import tensorflow as tf

from experiments import datasets


def shard_path(output_dir: str, split: str, shard: int, num_shards: int) -> str:
  return os.path.join(output_dir,
                      f'{split}-{shard:05d}-of-{num_shards:05d}.tfrecord')


def split_glob(output_dir: str, split: str, num_shards: int) -> str:
  """Matches exactly this run's shards, not leftovers of another shard count."""
  return os.path.join(output_dir,
                      f'{split}-?????-of-{num_shards:05d}.tfrecord')


def write(dataset: str, output_dir: str, num_shards: int = 1) -> Dict[str, str]:
  """Writes every split of `dataset`; returns {split: glob for input_path}."""
  datasets.check_name(dataset)
  if '://' not in output_dir:  # Local: absolute, so the globs work from any cwd.
    output_dir = os.path.abspath(output_dir)
  if (isinstance(num_shards, bool) or not isinstance(num_shards, int) or
      num_shards < 1):
    raise ValueError(f'`num_shards` must be a positive int, got {num_shards!r}.')
  tf.io.gfile.makedirs(output_dir)
  globs = {}
  for split in datasets.SPLITS:
    features, labels = datasets.load(dataset, split)
    writers = [tf.io.TFRecordWriter(shard_path(output_dir, split, i, num_shards))
               for i in range(num_shards)]
    try:
      for i, (x, y) in enumerate(zip(features, labels)):
        writers[i % num_shards].write(datasets.encode_example(dataset, x, y))
    finally:
      for writer in writers:
        writer.close()
    globs[split] = split_glob(output_dir, split, num_shards)
  return globs


FLAGS = flags.FLAGS


def define_flags():
  """Called only when run as a script, so importing `write` from other code
  never adds (or clashes with) flags in the importer's process."""
  flags.DEFINE_enum('dataset', None, list(datasets.DATASETS),
                    'Bundled dataset to write.')
  flags.DEFINE_string('output_dir', None, 'Directory for the TFRecord shards.')
  flags.DEFINE_integer('num_shards', 1, 'Shards per split.', lower_bound=1)
  flags.mark_flags_as_required(['dataset', 'output_dir'])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  globs = write(FLAGS.dataset, FLAGS.output_dir, FLAGS.num_shards)
  for split, glob in globs.items():
    print(f'{split}: {glob}')


if __name__ == '__main__':
  define_flags()
  app.run(main)
