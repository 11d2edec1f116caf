"""The ImageNet-shaped benchmark's task, written against TF Model Garden's names.

One module for both cores: imported plainly it is a TFM task on TFM's core
(variant c); imported after `tfm_redirect.install()` the same `official.core`
names resolve to official_like's core (variant b), and the hand-written loop
(variant a) reads its dataset and model. The model is TFM's own ResNet
backbone and classification head from `official.vision`.

The decode follows `official/vision/dataloaders/classification_input.py` for
training (crop window drawn with TFM's defaults, decoded with
`decode_and_crop_jpeg`, centre crop when the draw gives the whole image,
horizontal flip, bilinear resize, normalisation by TFM's ImageNet mean and
standard deviation), with stateless ops. Each example's seed is a hash of
its serialized record and `SEED`, computed inside the decode: that works on
both cores alike (TFM's InputReader hands its decoder only the record) and
keeps every op stateless, so official_like's checkpoints hold the input
position instead of the shuffle buffer. The price: an image gets the same
crop and flip in every epoch; the benchmark trains for less than one epoch.
"""
import dataclasses

import tensorflow as tf
import tf_keras

from official.core import base_task
from official.core import config_definitions
from official.core import input_reader
from official.vision.modeling import backbones
from official.vision.modeling import classification_model

SEED = 1
MEAN_RGB = (0.485 * 255, 0.456 * 255, 0.406 * 255)
STDDEV_RGB = (0.229 * 255, 0.224 * 255, 0.225 * 255)
CENTER_CROP_FRACTION = 0.875


@dataclasses.dataclass
class ImageNetShapedConfig(config_definitions.TaskConfig):
  """ResNet of `model_id` on `image_size`-pixel crops, `num_classes` classes."""
  image_size: int = 64
  num_classes: int = 100
  model_id: int = 18


def example_seeds(record: tf.Tensor) -> tf.Tensor:
  """[2, 2] int64: the crop's and the flip's seed, from the record's bytes and SEED."""
  key = tf.strings.to_hash_bucket_fast(record, 2**62)
  return tf.random.experimental.stateless_split(tf.stack([key, SEED]), num=2)


def _crop(image_bytes: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
  """TFM's random_crop_image_v2 and its centre-crop fall-back, drawn statelessly."""
  shape = tf.image.extract_jpeg_shape(image_bytes)
  offset, size, _ = tf.image.stateless_sample_distorted_bounding_box(
      shape, tf.constant([0.0, 0.0, 1.0, 1.0], shape=[1, 1, 4]), seed=seed,
      min_object_covered=0.08, aspect_ratio_range=(3 / 4, 4 / 3),
      area_range=(0.08, 1.0), max_attempts=10)
  whole = tf.reduce_all(tf.equal(size, shape))
  side = tf.cast(CENTER_CROP_FRACTION * tf.cast(tf.minimum(shape[0], shape[1]), tf.float32),
                 tf.int32)
  center = tf.stack([(shape[0] - side) // 2, (shape[1] - side) // 2, side, side])
  window = tf.where(whole, center, tf.stack([offset[0], offset[1], size[0], size[1]]))
  return tf.image.decode_and_crop_jpeg(image_bytes, window, channels=3)


def decode(record: tf.Tensor, image_size: int):
  """One training example: (normalised [image_size, image_size, 3] float32, int32 label)."""
  parsed = tf.io.parse_single_example(record, {
      'image/encoded': tf.io.FixedLenFeature((), tf.string),
      'image/class/label': tf.io.FixedLenFeature((), tf.int64)})
  crop_seed, flip_seed = tf.unstack(example_seeds(record))
  image = _crop(parsed['image/encoded'], crop_seed)
  image = tf.image.stateless_random_flip_left_right(image, flip_seed)
  image = tf.image.resize(image, [image_size, image_size], method='bilinear')
  image.set_shape([image_size, image_size, 3])
  image = (image - MEAN_RGB) / STDDEV_RGB
  return image, tf.cast(parsed['image/class/label'], tf.int32)


def build_model(params: ImageNetShapedConfig) -> tf_keras.Model:
  specs = tf_keras.layers.InputSpec(shape=[None, params.image_size, params.image_size, 3])
  backbone = backbones.ResNet(model_id=params.model_id, input_specs=specs)
  model = classification_model.ClassificationModel(
      backbone, params.num_classes, input_specs=specs)
  model(tf.zeros([1, params.image_size, params.image_size, 3]), training=False)
  return model


class ImageNetShapedTask(base_task.Task):
  """Classification with TFM's base Task train step: cross-entropy and accuracy."""

  def build_model(self) -> tf_keras.Model:
    return build_model(self.task_config)

  def build_inputs(self, params, input_context=None) -> tf.data.Dataset:
    size = self.task_config.image_size
    reader = input_reader.InputReader(
        params, dataset_fn=tf.data.TFRecordDataset,
        decoder_fn=lambda record: decode(record, size))
    return reader.read(input_context=input_context)

  def build_losses(self, labels, model_outputs, aux_losses=None) -> tf.Tensor:
    loss = tf.reduce_mean(tf_keras.losses.sparse_categorical_crossentropy(
        labels, model_outputs, from_logits=True))
    return loss + tf.add_n(aux_losses) if aux_losses else loss

  def build_metrics(self, training: bool = True):
    del training
    return [tf_keras.metrics.SparseCategoricalAccuracy('accuracy')]
