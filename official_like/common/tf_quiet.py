"""TensorFlow's start-up noise, silenced where it starts and nowhere else.

On a machine without an NVIDIA driver, TensorFlow's CUDA plugin logs
`failed call to cuInit` from C++ when devices are first listed. The
message is true but useless there, and it reads like a failure. Devices
are listed here once with the C++ stderr captured; the captured text is
passed on unless it is that message on a host where no GPU was found, so
every other C++ error still reaches the user.
"""
import os
import sys
import tempfile

_CUDA_ABSENT = 'failed call to cuInit'


def import_quietly():
  """Imports TensorFlow and lists its devices, without the CUDA-absent line on CPU hosts."""
  sys.stderr.flush()
  saved = os.dup(2)
  with tempfile.TemporaryFile() as captured:
    os.dup2(captured.fileno(), 2)
    try:
      import tensorflow as tf  # pylint: disable=g-import-not-at-top
      devices = tf.config.list_physical_devices()
    finally:
      os.dup2(saved, 2)
      os.close(saved)
    captured.seek(0)
    text = captured.read().decode(errors='replace')
  has_gpu = any(d.device_type == 'GPU' for d in devices)
  for line in text.splitlines(keepends=True):
    if has_gpu or _CUDA_ABSENT not in line:
      sys.stderr.write(line)
  return devices
