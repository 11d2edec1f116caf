"""What the steady-state children share: loop timestamps, save timings, the optimizer.

Each benchmark child trains one variant and reports, after every loop,
(time.monotonic(), global step, process CPU seconds); the parents turn
those into steady-state speed and cold start (`steady_state.measure`).
"""
import contextlib
import os
import time

import tensorflow as tf
import tf_keras


def sgd_cosine(peak_learning_rate: float, steps: int, warmup_steps: int) -> dict:
  """SGD momentum 0.9, cosine decay over `steps` after a linear warmup: both libraries' dict."""
  return {
      'optimizer': {'type': 'sgd', 'sgd': {'momentum': 0.9}},
      'learning_rate': {'type': 'cosine', 'cosine': {
          'initial_learning_rate': peak_learning_rate, 'decay_steps': steps}},
      'warmup': {'type': 'linear', 'linear': {'warmup_steps': warmup_steps}},
  }


class LoopRecorder:
  """An Orbit train action: (time.monotonic(), global step, CPU s) after every loop."""

  def __init__(self, global_step=None):
    self.global_step = global_step
    self.ends = []

  def __call__(self, output) -> None:
    del output
    self.ends.append((time.monotonic(), int(self.global_step.numpy()), time.process_time()))


@contextlib.contextmanager
def recording(trainer_class):
  """A LoopRecorder reading the global step of the `trainer_class` built inside."""
  recorder = LoopRecorder()
  original_init = trainer_class.__init__

  def init(self, *args, **kwargs):
    original_init(self, *args, **kwargs)
    recorder.global_step = self.global_step
  trainer_class.__init__ = init
  try:
    yield recorder
  finally:
    trainer_class.__init__ = original_init


@contextlib.contextmanager
def timed_saves():
  """[(seconds, bytes)] of every `tf.train.CheckpointManager.save` inside, as they happen."""
  saves = []
  original_save = tf.train.CheckpointManager.save

  def save(self, *args, **kwargs):
    start = time.monotonic()
    path = original_save(self, *args, **kwargs)
    if path:
      files = tf.io.gfile.glob(path + '.*')
      saves.append((time.monotonic() - start, sum(os.path.getsize(f) for f in files)))
    return path
  tf.train.CheckpointManager.save = save
  try:
    yield saves
  finally:
    tf.train.CheckpointManager.save = original_save


def sparse_cross_entropy(labels, logits) -> tf.Tensor:
  return tf.reduce_mean(tf_keras.losses.sparse_categorical_crossentropy(
      labels, logits, from_logits=True))


def raw_loop(model, optimizer, iterator, steps_per_loop: int):
  """The limit: a bare `tf.function` over `steps_per_loop` steps of cross-entropy training.

  Returns a function running one loop and reading what a loop reports (mean
  loss, accuracy) before resetting both, as the trainers do.
  """
  loss_mean = tf_keras.metrics.Mean('training_loss')
  accuracy = tf_keras.metrics.SparseCategoricalAccuracy('accuracy')

  @tf.function
  def train_loop(iterator, num_steps):
    for _ in tf.range(num_steps):
      features, labels = next(iterator)
      with tf.GradientTape() as tape:
        logits = model(features, training=True)
        loss = sparse_cross_entropy(labels, logits)
      grads = tape.gradient(loss, model.trainable_variables)
      optimizer.apply_gradients(zip(grads, model.trainable_variables))
      loss_mean.update_state(loss)
      accuracy.update_state(labels, logits)

  num_steps = tf.constant(steps_per_loop)

  def one_loop():
    train_loop(iterator, num_steps)
    float(loss_mean.result()), float(accuracy.result())  # pylint: disable=expression-not-assigned
    loss_mean.reset_states()
    accuracy.reset_states()
  return one_loop


def run_loops(one_loop, steps: int, steps_per_loop: int) -> list:
  """Loop ends, as LoopRecorder records them, of `steps // steps_per_loop` calls."""
  ends = []
  for done in range(steps_per_loop, steps + 1, steps_per_loop):
    one_loop()
    ends.append((time.monotonic(), done, time.process_time()))
  return ends
