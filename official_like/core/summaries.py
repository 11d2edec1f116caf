"""Training summaries written at every `summary_interval`, not at every loop.

Orbit's Controller hands the train output of every `steps_per_loop` loop to
its summary manager; TFM's contract (and ours) is that scalars such as
`learning_rate` land in TensorBoard at multiples of `summary_interval`. This
manager keeps Orbit's writing and only adds that gate.
"""
import orbit
import tensorflow as tf


class IntervalSummaryManager(orbit.utils.SummaryManager):
  """An Orbit SummaryManager that writes only when step % interval == 0."""

  def __init__(self, summary_dir, global_step: tf.Variable, interval: int):
    super().__init__(summary_dir, tf.summary.scalar, global_step=global_step)
    self._interval = interval

  def write_summaries(self, summary_dict):
    if int(self._global_step.numpy()) % self._interval == 0:
      super().write_summaries(summary_dict)
