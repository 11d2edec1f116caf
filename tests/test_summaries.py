"""The batched summary writes (`run/summaries.py`) leave the events `tf.summary.scalar` leaves.

Each case writes the same values twice, once the eager way (Orbit's
SummaryManager, or `tf.summary.scalar` in a Python loop) and once through
our writer, and compares the event files value by value: step, tag,
metadata and tensor bytes.
"""
import numpy as np
import orbit
import pytest
import tensorflow as tf

from official_like.run import summaries
from event_files import raw_values

LOOP_OUTPUTS = [  # As Orbit hands them over: NumPy values, steps/s a Python float.
    {'training_loss': np.float32(2.25), 'accuracy': np.float32(0.125),
     'learning_rate': np.float32(1e-3), 'steps_per_second': 812.4375123},
    {'training_loss': np.float32(0.5), 'accuracy': np.float32(0.9),
     'learning_rate': np.float32(7.5e-4), 'steps_per_second': 1503.00000001},
    {'training_loss': np.float64(0.25), 'accuracy': np.float32(0.95),
     'learning_rate': np.float32(0.0), 'steps_per_second': 3},
]


def test_interval_manager_writes_what_orbits_manager_writes(tmp_path):
  step = tf.Variable(0, dtype=tf.int64)
  orbits = orbit.utils.SummaryManager(str(tmp_path / 'orbit'), tf.summary.scalar, step)
  ours = summaries.IntervalSummaryManager(str(tmp_path / 'ours'), step, interval=10)
  for i, output in enumerate(LOOP_OUTPUTS * 2):  # The first write eager, then traced.
    step.assign(10 * (i + 1))
    orbits.write_summaries(output)
    ours.write_summaries(output)
  orbits.flush()
  ours.flush()
  expected = raw_values(str(tmp_path / 'orbit'))
  assert len(expected) == 24
  assert raw_values(str(tmp_path / 'ours')) == expected


def test_interval_manager_skips_off_interval_steps_and_hands_nested_dicts_to_orbit(tmp_path):
  step = tf.Variable(5, dtype=tf.int64)
  ours = summaries.IntervalSummaryManager(str(tmp_path), step, interval=10)
  ours.write_summaries(LOOP_OUTPUTS[0])
  step.assign(20)
  ours.write_summaries({'loss': np.float32(1.0), 'val': {'accuracy': np.float32(0.5)}})
  ours.flush()
  assert [(s, tag) for s, tag, _, _ in raw_values(str(tmp_path))] == [(20, 'loss')]
  assert [(s, tag) for s, tag, _, _ in raw_values(str(tmp_path / 'val'))] == [
      (20, 'accuracy')]


def test_series_is_the_python_loop_of_scalars(tmp_path):
  steps = np.array([0, 1, 2, 50, 51, 400, 4999], np.int64)
  values = np.array([0.0, 1e-4, 2e-4, 0.1, 0.0999, np.nan, 1e-9], np.float32)
  eager = tf.summary.create_file_writer(str(tmp_path / 'eager'))
  with eager.as_default():
    for s, v in zip(steps.tolist(), values.tolist()):
      tf.summary.scalar('learning_rate', v, step=s)
  eager.close()
  ours = tf.summary.create_file_writer(str(tmp_path / 'ours'))
  summaries.ScalarWriter(ours).write_series('learning_rate', steps, values)
  ours.close()
  expected = raw_values(str(tmp_path / 'eager'))
  assert [s for s, *_ in expected] == steps.tolist()
  assert raw_values(str(tmp_path / 'ours')) == expected


@pytest.mark.parametrize('value, kept', [
    (np.float32(1.5), True), (3, True), (np.int64(7), True), (2.5, True),
    (tf.constant(0.5), True), (np.zeros(3), False), (True, False), ('text', False),
    (np.complex64(1j), False)])
def test_numeric_scalars(value, kept):
  assert ('x' in summaries.numeric_scalars({'x': value})) is kept
