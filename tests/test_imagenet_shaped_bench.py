"""The ImageNet-shaped benchmark's data and decode (bench/imagenet_shaped_task.py), untimed.

The benchmark itself is `bench/imagenet_shaped.py`; here only what it feeds
the three variants: sharded JPEG records and TFM-style training examples
whose crop and flip are stateless, so the same record decodes the same way
on any core.
"""
import os
import sys

import numpy as np
import tensorflow as tf

from experiments import zoo_tfrecords

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                'bench'))
import imagenet_shaped_task  # noqa: E402 pylint: disable=wrong-import-position


def test_shards_hold_all_images_and_decode_to_training_crops(tmp_path):
  pattern = zoo_tfrecords.classification_shards(str(tmp_path), num_shards=3, num_examples=10,
                                                image_size=48, num_classes=5)
  files = sorted(tf.io.gfile.glob(pattern))
  assert [os.path.basename(f) for f in files] == [
      f'train-0000{i}-of-00003' for i in range(3)]
  records = [r for f in files for r in tf.data.TFRecordDataset(f)]
  assert len(records) == 10
  examples = [imagenet_shaped_task.decode(r, 24) for r in records]
  for image, label in examples:
    assert image.shape == (24, 24, 3) and image.dtype == tf.float32
    assert label.dtype == tf.int32 and 0 <= int(label) < 5
  again, _ = imagenet_shaped_task.decode(records[0], 24)
  np.testing.assert_array_equal(again.numpy(), examples[0][0].numpy())  # stateless
  stored = tf.image.resize(tf.io.decode_jpeg(tf.train.Example.FromString(
      records[0].numpy()).features.feature['image/encoded'].bytes_list.value[0]), [24, 24])
  normalised = (stored - imagenet_shaped_task.MEAN_RGB) / imagenet_shaped_task.STDDEV_RGB
  assert not np.allclose(normalised.numpy(), examples[0][0].numpy())  # cropped or flipped
