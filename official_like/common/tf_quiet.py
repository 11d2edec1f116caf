"""TensorFlow's start-up noise, silenced where it starts and nowhere else.

On a machine without an NVIDIA driver, TensorFlow's CUDA plugin logs
`failed call to cuInit` from C++ when it is imported. The message is true
but useless there, and it reads like a failure. `quiet_start` runs a block
that may import TensorFlow (ours, or a user's `--import` module that
imports it first) with the C++ stderr captured; the captured text is passed
on unless it is that message on a host where no GPU was found, so every
other C++ error, and all of Python's stderr, still reaches the user.
"""
import contextlib
import os
import sys
import tempfile

_CUDA_ABSENT = 'failed call to cuInit'


def _has_gpu() -> bool:
  if 'tensorflow' not in sys.modules:
    return False
  try:
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    return bool(tf.config.list_physical_devices('GPU'))
  except Exception:  # pylint: disable=broad-except  (an import cut short by Ctrl-C)
    return False


@contextlib.contextmanager
def quiet_start():
  """Runs the block with fd 2 captured, then replays it without the CUDA-absent line."""
  sys.stderr.flush()
  saved = os.dup(2)
  with tempfile.TemporaryFile() as captured:
    os.dup2(captured.fileno(), 2)
    has_gpu = False
    try:
      yield
    finally:
      try:
        has_gpu = _has_gpu()  # Lists devices while still captured: their noise too.
      finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        captured.seek(0)
        for line in captured.read().decode(errors='replace').splitlines(keepends=True):
          if has_gpu or _CUDA_ABSENT not in line:
            sys.stderr.write(line)
        sys.stderr.flush()


def import_quietly():
  """Imports TensorFlow and lists its devices, without the CUDA-absent line on CPU hosts."""
  with quiet_start():
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    devices = tf.config.list_physical_devices()
  return devices
