"""Training summaries: written at every `summary_interval`, with few op calls.

Orbit's Controller hands the train output of every `steps_per_loop` loop to
its summary manager; TFM's contract (and ours) is that scalars such as
`learning_rate` land in TensorBoard at multiples of `summary_interval`.

Eagerly, each `tf.summary.scalar` is a dozen ops dispatched from Python
(~0.4 ms): the four train scalars cost ~2% of a 100-step loop of the
digits MLP. `ScalarWriter` writes a dict of scalars, or a whole series, in
one call; its events equal those of `tf.summary.scalar` (tags, metadata,
steps, float32 values; tests/test_summaries.py).
"""
from typing import Any, Dict, Mapping, Optional

import numpy as np
import orbit
import tensorflow as tf

from official_like.common.traced import EagerThenTraced


def numeric_scalars(values: Mapping[str, Any]) -> Dict[str, Any]:
  """The entries of `values` that are real scalar numbers, as NumPy or Python numbers."""
  out = {}
  for key, value in values.items():
    value = orbit.utils.get_value(value)
    kind = np.asarray(value).dtype
    if np.ndim(value) == 0 and (np.issubdtype(kind, np.integer) or
                                np.issubdtype(kind, np.floating)):
      out[key] = value
  return out


class ScalarWriter:
  """Scalars into one summary writer, as `tf.summary.scalar` would write them.

  `write` is eager at its first call and traced after (`EagerThenTraced`);
  a writer serves one set of tags, since another set would trace again.
  """

  def __init__(self, writer: tf.summary.SummaryWriter):
    self._writer = writer
    self._write = EagerThenTraced(self._write_scalars)
    self._series = tf.function(self._write_series, autograph=False)

  def write(self, values: Mapping[str, Any], step: int) -> None:
    """Writes each `tag: number` of `values` at `step`, in the dict's order."""
    self._write({tag: np.float32(v) for tag, v in values.items()},
                tf.constant(step, tf.int64))

  def write_series(self, tag: str, steps: np.ndarray, values: np.ndarray) -> None:
    """Writes `values[i]` at `steps[i]` for every i, in order."""
    self._series(tag, tf.constant(steps, tf.int64), tf.constant(values, tf.float32))

  def _write_scalars(self, values, step):
    with self._writer.as_default():
      for tag, value in values.items():
        tf.summary.scalar(tag, value, step=step)

  def _write_series(self, tag, steps, values):
    def write_one(i):
      with tf.name_scope(''):  # The loop's scope would prefix the tag.
        tf.summary.scalar(tag, values[i], step=steps[i])
      return i + 1

    with self._writer.as_default():
      tf.while_loop(lambda i: i < tf.size(steps), write_one, [tf.constant(0)],
                    parallel_iterations=1)  # TensorBoard expects steps in order.


class IntervalSummaryManager(orbit.utils.SummaryManager):
  """Orbit's SummaryManager, writing only when step % interval == 0.

  A flat dict of scalar numbers (the train loop's usual output) goes through
  a `ScalarWriter`; anything else (nested dicts, tensors) through Orbit.
  """

  def __init__(self, summary_dir, global_step: tf.Variable, interval: int):
    super().__init__(summary_dir, tf.summary.scalar, global_step=global_step)
    self._interval = interval
    self._scalars: Optional[ScalarWriter] = None

  def write_summaries(self, summary_dict):
    step = int(self._global_step.numpy())
    if step % self._interval or not self._enabled:
      return
    scalars = numeric_scalars(summary_dict)
    if len(scalars) < len(summary_dict):
      super().write_summaries(summary_dict)
      return
    if self._scalars is None:
      self._scalars = ScalarWriter(self.summary_writer())
    self._scalars.write(scalars, step)
