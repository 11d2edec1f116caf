"""The checkpoint manager of a run restarted after it reached train_steps.

Legacy Keras optimizers create their variables at the first step; a run
with no step left never creates them, so TensorFlow would warn at exit that
`(root).optimizer.*` were never restored. This manager restores such a
run's latest checkpoint as a partial one.
"""
import tensorflow as tf


class FinishedRunCheckpointManager(tf.train.CheckpointManager):
  """`tf.train.CheckpointManager` whose restore expects the optimizer to be missing."""

  def restore_or_initialize(self):
    if self._latest_checkpoint is None:
      return super().restore_or_initialize()
    self._checkpoint.restore(self._latest_checkpoint).expect_partial()
    return self._latest_checkpoint
