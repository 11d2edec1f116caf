"""`experiments.zoo_tfrecords`: records that TFM's own zoo decoders read as written.

The zoo's decoders are TFM's (imported from `official`, on TFM's core);
the end-to-end runs on these records are in tests/test_zoo_runs.py.
"""
import numpy as np
import tensorflow as tf

from experiments import zoo_tfrecords


def _records(path):
  return list(tf.data.TFRecordDataset(path))


def test_classification_records_decode_as_tfms_classification_input(tmp_path):
  from official.vision.dataloaders import classification_input  # pylint: disable=g-import-not-at-top
  path = zoo_tfrecords.classification(str(tmp_path / 'c.tfrecord'), num_examples=6,
                                      image_size=24, num_classes=3, seed=1)
  decoder = classification_input.Decoder()
  labels = []
  for record in _records(path):
    example = decoder.decode(record)
    image = tf.io.decode_jpeg(example['image/encoded'])
    assert image.shape == (24, 24, 3)
    labels.append(int(example['image/class/label']))
  assert len(labels) == 6 and set(labels) <= {0, 1, 2}


def test_detection_records_decode_as_tfms_coco_style_decoder(tmp_path):
  from official.vision.dataloaders import tf_example_decoder  # pylint: disable=g-import-not-at-top
  path = zoo_tfrecords.detection(str(tmp_path / 'd.tfrecord'), num_examples=5,
                                 image_size=64, num_classes=4, max_boxes=3, seed=2)
  decoder = tf_example_decoder.TfExampleDecoder()
  for i, record in enumerate(_records(path)):
    decoded = decoder.decode(record)
    boxes = decoded['groundtruth_boxes'].numpy()
    count = len(boxes)
    assert decoded['image'].shape == (64, 64, 3)
    assert decoded['source_id'].numpy() == str(i + 1).encode()
    assert 1 <= count <= 3 and boxes.shape == (count, 4)
    assert np.all((boxes >= 0) & (boxes <= 1))
    assert np.all(boxes[:, 2:] > boxes[:, :2])  # ymax > ymin, xmax > xmin
    np.testing.assert_allclose(
        decoded['groundtruth_area'].numpy(),
        (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) * 64 * 64, rtol=1e-5)
    assert set(decoded['groundtruth_classes'].numpy()) <= {1, 2, 3}
    assert not decoded['groundtruth_is_crowd'].numpy().any()


def test_sentence_prediction_records_parse_with_tfms_feature_spec(tmp_path):
  from official.nlp.data import sentence_prediction_dataloader as loader  # pylint: disable=g-import-not-at-top
  path = zoo_tfrecords.sentence_prediction(str(tmp_path / 's.tfrecord'), num_examples=4,
                                           seq_length=12, vocab_size=50, seed=3)
  spec = loader.SentencePredictionDataLoader(
      loader.SentencePredictionDataConfig(seq_length=12)).name_to_features_spec()
  for record in _records(path):
    example = {k: v.numpy() for k, v in tf.io.parse_single_example(record, spec).items()}
    length = example['input_mask'].sum()
    assert list(example['input_mask']) == [1] * length + [0] * (12 - length)
    assert np.all(example['input_ids'][:length] > 0) and not example['input_ids'][length:].any()
    assert example['input_ids'].max() < 50
    assert not example['segment_ids'][length:].any() and example['segment_ids'].max() <= 1
    assert example['label_ids'] in (0, 1)


def test_the_same_seed_writes_the_same_bytes(tmp_path):
  first = zoo_tfrecords.detection(str(tmp_path / 'a.tfrecord'), num_examples=3, seed=7)
  second = zoo_tfrecords.detection(str(tmp_path / 'b.tfrecord'), num_examples=3, seed=7)
  other = zoo_tfrecords.detection(str(tmp_path / 'c.tfrecord'), num_examples=3, seed=8)
  with open(first, 'rb') as a, open(second, 'rb') as b, open(other, 'rb') as c:
    content = a.read()
    assert content == b.read() and content != c.read()
