"""Small synthetic TFRecords in the tf.Example formats of TFM's model zoo.

TFM's vision and NLP experiments read ImageNet, COCO and GLUE, which are
neither bundled nor downloadable here. These writers produce a few records
with exactly the features the zoo's decoders parse, so TFM's own binaries
(`official/vision/train.py`, `official/nlp/train.py`) and `trainer_main.py`
can run a zoo experiment end to end at real shapes (JPEG decoding, random
crop and flip, box matching, padded token ids) in seconds. Each writer
takes a seed and returns the file to put into `input_path`; the same seed
gives the same bytes.

- `classification`: `image/encoded` (JPEG) and `image/class/label`, as
  `official.vision.dataloaders.classification_input` reads them;
  `classification_shards` writes many of them in several files, as
  ImageNet's TFRecords come (the ImageNet-shaped benchmark's data).
- `detection`: COCO-style `image/object/bbox/*` (normalised), `class/label`,
  `area`, `is_crowd`, `image/source_id`, height and width, as
  `official.vision.dataloaders.tf_example_decoder` reads them.
- `sentence_prediction`: `input_ids`, `input_mask`, `segment_ids` and
  `label_ids` of one sequence length, as
  `official.nlp.data.sentence_prediction_dataloader` reads them.
"""
import os
from typing import Dict, List

import numpy as np
import tensorflow as tf


def _int64(values) -> tf.train.Feature:
  return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))


def _float(values) -> tf.train.Feature:
  return tf.train.Feature(float_list=tf.train.FloatList(value=list(values)))


def _bytes(values) -> tf.train.Feature:
  return tf.train.Feature(bytes_list=tf.train.BytesList(value=list(values)))


def _jpeg(rng: np.random.Generator, size: int) -> bytes:
  """A smooth random image (noise compresses badly and looks like no photo)."""
  coarse = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
  image = tf.image.resize(coarse[None], [size, size], method='bilinear')[0]
  return tf.io.encode_jpeg(tf.cast(image, tf.uint8), quality=90).numpy()


def _write(path: str, examples: List[Dict[str, tf.train.Feature]]) -> str:
  tf.io.gfile.makedirs(os.path.dirname(path))
  with tf.io.TFRecordWriter(path) as writer:
    for features in examples:
      writer.write(tf.train.Example(
          features=tf.train.Features(feature=features)).SerializeToString())
  return path


def classification(path: str, num_examples: int = 32, image_size: int = 32,
                   num_classes: int = 10, seed: int = 0) -> str:
  """JPEG images with an int label in [0, num_classes); returns `path`."""
  rng = np.random.default_rng(seed)
  return _write(path, [{
      'image/encoded': _bytes([_jpeg(rng, image_size)]),
      'image/class/label': _int64([rng.integers(num_classes)]),
  } for _ in range(num_examples)])


def classification_shards(directory: str, num_shards: int, num_examples: int,
                          image_size: int, num_classes: int, seed: int = 0) -> str:
  """`num_examples` classification records in `num_shards` files; returns their glob."""
  per_shard = -(-num_examples // num_shards)
  for shard in range(num_shards):
    count = min(per_shard, num_examples - shard * per_shard)
    classification(os.path.join(directory, f'train-{shard:05d}-of-{num_shards:05d}'),
                   count, image_size, num_classes, seed=seed * num_shards + shard)
  return os.path.join(directory, 'train-*')


def _boxes(rng: np.random.Generator, count: int) -> np.ndarray:
  """[count, 4] normalised ymin, xmin, ymax, xmax, each side 0.2-0.6 long."""
  corner = rng.uniform(0.0, 0.4, size=(count, 2))
  side = rng.uniform(0.2, 0.6, size=(count, 2))
  return np.concatenate([corner, np.minimum(corner + side, 1.0)], axis=1)


def detection(path: str, num_examples: int = 16, image_size: int = 128,
              num_classes: int = 4, max_boxes: int = 3, seed: int = 0) -> str:
  """JPEG images with 1..max_boxes boxes of classes in [1, num_classes)."""
  rng = np.random.default_rng(seed)
  examples = []
  for i in range(num_examples):
    count = int(rng.integers(1, max_boxes + 1))
    boxes = _boxes(rng, count)
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) * image_size ** 2
    examples.append({
        'image/encoded': _bytes([_jpeg(rng, image_size)]),
        'image/source_id': _bytes([str(i + 1).encode()]),
        'image/height': _int64([image_size]),
        'image/width': _int64([image_size]),
        'image/object/bbox/ymin': _float(boxes[:, 0]),
        'image/object/bbox/xmin': _float(boxes[:, 1]),
        'image/object/bbox/ymax': _float(boxes[:, 2]),
        'image/object/bbox/xmax': _float(boxes[:, 3]),
        'image/object/class/label': _int64(rng.integers(1, num_classes, size=count)),
        'image/object/area': _float(areas),
        'image/object/is_crowd': _int64([0] * count),
    })
  return _write(path, examples)


def sentence_prediction(path: str, num_examples: int = 32, seq_length: int = 16,
                        vocab_size: int = 100, num_classes: int = 2, seed: int = 0) -> str:
  """Token ids padded to `seq_length` (two segments), an int label each."""
  rng = np.random.default_rng(seed)
  examples = []
  for _ in range(num_examples):
    length = int(rng.integers(4, seq_length + 1))
    first = int(rng.integers(1, length))
    ids = np.zeros(seq_length, np.int64)
    ids[:length] = rng.integers(1, vocab_size, size=length)
    examples.append({
        'input_ids': _int64(ids),
        'input_mask': _int64([1] * length + [0] * (seq_length - length)),
        'segment_ids': _int64([0] * first + [1] * (length - first)
                              + [0] * (seq_length - length)),
        'label_ids': _int64([rng.integers(num_classes)]),
    })
  return _write(path, examples)
