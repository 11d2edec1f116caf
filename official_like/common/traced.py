"""Bookkeeping that repeats between train loops, run as one traced call.

Between two train loops a trainer does the same few dozen TensorFlow ops
every time: metric reads and resets, the learning rate, summary writes.
Eagerly, Python dispatches each op (~0.1 ms apiece); traced, they are one
call. The first call stays eager: tracing costs tens of milliseconds, which
would delay the first report, and a piece that runs once never pays it back.
"""
import tensorflow as tf


class EagerThenTraced:
  """`fn`, run eagerly at its first call and as one `tf.function` after.

  No AutoGraph: the pieces this is for have no tensor-dependent Python
  control flow, and converting them would cost more than it saves.
  """

  def __init__(self, fn):
    self._fn = fn
    self._traced = None

  def __call__(self, *args, **kwargs):
    if self._traced is None:
      self._traced = tf.function(self._fn, autograph=False)
      return self._fn(*args, **kwargs)
    return self._traced(*args, **kwargs)
