"""Checkpoint size and save time of the training input, before and after issue 18.

    .venv/bin/python bench/checkpoint_input_state.py [--images 10000] [--buffers 1000 10000]

Writes JPEG TFRecords of 224x224x3 images once (in --dir), then, each in its
own process, for every shuffle buffer:

* **before**: the pipeline `input_reader.read` built until issue 18 (files
  -> interleave -> decode -> shuffle -> repeat -> batch -> prefetch), its
  `tf.data` iterator saved in the checkpoint as the trainer saved it;
* **after**: `input_reader.read` now, the checkpoint holding the input's
  position (`resumable_input.Position`), and what resuming mid-epoch costs
  (counting the records and dropping the raw ones before the position).

Both checkpoints also hold a 314-parameter conv net, so the rows compare
with a weights-only checkpoint (TFM's). Decoded images are uint8 (150,528
bytes); a pipeline that buffers float32 images holds 4x as much. Timing is
wall time of `tf.train.Checkpoint.write` (median of 3), so run it on a
quiet machine. Not run by the tests.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BATCH, SIDE, FILES = 32, 224, 8


def write_images(directory: str, count: int) -> str:
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  pattern = os.path.join(directory, 'train-*.tfrecord')
  if len(tf.io.gfile.glob(pattern)) == FILES:
    return pattern
  os.makedirs(directory, exist_ok=True)
  ramp = tf.cast(tf.linspace(0.0, 255.0, SIDE), tf.uint8)
  for shard in range(FILES):
    with tf.io.TFRecordWriter(os.path.join(directory, f'train-{shard}.tfrecord')) as w:
      for i in range(shard, count, FILES):
        image = tf.stack([tf.tile(ramp[None], [SIDE, 1]),
                          tf.tile(ramp[:, None], [1, SIDE]),
                          tf.fill([SIDE, SIDE], tf.cast(i % 256, tf.uint8))], -1)
        w.write(tf.train.Example(features=tf.train.Features(feature={
            'image': tf.train.Feature(bytes_list=tf.train.BytesList(
                value=[tf.io.encode_jpeg(image).numpy()])),
            'label': tf.train.Feature(int64_list=tf.train.Int64List(value=[i % 10]))})
        ).SerializeToString())
  return pattern


def _decode(record):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  features = tf.io.parse_single_example(record, {
      'image': tf.io.FixedLenFeature([], tf.string),
      'label': tf.io.FixedLenFeature([], tf.int64)})
  image = tf.ensure_shape(tf.io.decode_jpeg(features['image'], channels=3), [SIDE, SIDE, 3])
  return image, features['label']


def _before(pattern: str, buffer: int):
  """The pre-issue-18 pipeline and its iterator, as the trainer checkpointed it."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  files = sorted(tf.io.gfile.glob(pattern))
  dataset = tf.data.Dataset.from_tensor_slices(files).shuffle(len(files), seed=1)
  dataset = dataset.interleave(tf.data.TFRecordDataset, cycle_length=len(files),
                               num_parallel_calls=tf.data.AUTOTUNE)
  dataset = dataset.map(_decode, num_parallel_calls=tf.data.AUTOTUNE)
  dataset = dataset.shuffle(buffer, seed=1).repeat().batch(BATCH).prefetch(tf.data.AUTOTUNE)
  iterator = iter(dataset)
  return {'train_iterator': iterator}, iterator


def _after(pattern: str, buffer: int):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from official_like.core import input_reader  # pylint: disable=g-import-not-at-top
  from official_like.run import resumable_input  # pylint: disable=g-import-not-at-top
  iterator = iter(input_reader.read(_params(pattern, buffer), decode_fn=_decode))
  return {'train_input': resumable_input.Position(pipelines=1, seed=1)}, iterator


def _params(pattern: str, buffer: int):
  return types.SimpleNamespace(
      input_path=pattern, global_batch_size=BATCH, is_training=True, drop_remainder=True,
      shuffle_buffer_size=buffer, cache=False, seed=1)


def _model():
  import tf_keras  # pylint: disable=g-import-not-at-top
  model = tf_keras.Sequential([
      tf_keras.layers.Conv2D(8, 3, strides=4, input_shape=(SIDE, SIDE, 3)),
      tf_keras.layers.GlobalAveragePooling2D(), tf_keras.layers.Dense(10)])
  return model


def measure(variant: str, pattern: str, buffer: int) -> dict:
  """One row: checkpoint bytes, median save seconds, first-batch seconds."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  began = time.monotonic()
  items, iterator = (_before if variant == 'before' else _after)(pattern, buffer)
  next(iterator)
  first_batch = time.monotonic() - began
  for _ in range(3):
    next(iterator)
  checkpoint = tf.train.Checkpoint(model=_model(), **items)
  directory = tempfile.mkdtemp(prefix=f'ckpt_{variant}_{buffer}_')
  seconds = []
  for i in range(3):
    began = time.monotonic()
    path = checkpoint.write(os.path.join(directory, f'c{i}'))
    seconds.append(time.monotonic() - began)
  size = sum(os.path.getsize(os.path.join(directory, name)) for name in os.listdir(directory)
             if name.startswith(os.path.basename(path) + '.'))
  row = {'variant': variant, 'buffer': buffer, 'bytes': size,
         'save_s': statistics.median(seconds), 'first_batch_s': first_batch}
  if variant == 'after':
    row['resume_s'] = _resume_seconds(pattern, buffer)
  subprocess.run(['rm', '-rf', directory], check=False)
  return row


def _resume_seconds(pattern: str, buffer: int) -> float:
  """Time to the first batch when resuming in the middle of epoch 2."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from official_like.core import input_reader  # pylint: disable=g-import-not-at-top
  from official_like.run import input_position  # pylint: disable=g-import-not-at-top
  files = tf.io.gfile.glob(pattern)
  images = sum(input_position.count(tf.data.TFRecordDataset(f)) for f in files)
  began = time.monotonic()
  with input_position.building(images + images // 2):
    next(iter(input_reader.read(_params(pattern, buffer), decode_fn=_decode)))
  return time.monotonic() - began


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--images', type=int, default=10000)
  parser.add_argument('--buffers', type=int, nargs='+', default=[1000, 10000])
  parser.add_argument('--dir', default=os.path.join(tempfile.gettempdir(), 'ckpt_bench_jpegs'))
  parser.add_argument('--one', nargs=2, help=argparse.SUPPRESS)  # variant buffer (child)
  args = parser.parse_args()
  pattern = os.path.join(args.dir, 'train-*.tfrecord')
  if args.one:
    print(json.dumps(measure(args.one[0], pattern, int(args.one[1]))))
    return
  write_images(args.dir, args.images)
  print(f'{args.images} JPEGs of {SIDE}x{SIDE}x3 in {FILES} files; batch {BATCH}; '
        'checkpoint = 314-parameter conv net + the input state')
  print(f"{'buffer':>7} {'variant':>7} {'checkpoint':>12} {'save s':>8} {'1st batch s':>11} "
        f"{'resume s':>9}")
  env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL='2')
  for buffer in args.buffers:
    for variant in ('before', 'after'):
      out = subprocess.run([sys.executable, __file__, '--one', variant, str(buffer),
                            '--dir', args.dir], env=env, capture_output=True, text=True,
                           check=False)
      if out.returncode:
        print(f'{buffer:>7} {variant:>7} failed: {out.stderr.strip().splitlines()[-1]}')
        continue
      row = json.loads(out.stdout.strip().splitlines()[-1])
      resume = f"{row['resume_s']:9.2f}" if 'resume_s' in row else f"{'-':>9}"
      size = (f"{row['bytes'] / 2**20:9.1f} MB" if row['bytes'] >= 2**20
              else f"{row['bytes'] / 1024:9.1f} KB")
      print(f"{buffer:>7} {variant:>7} {size} {row['save_s']:8.3f} "
            f"{row['first_batch_s']:11.2f} {resume}")


if __name__ == '__main__':
  main()
