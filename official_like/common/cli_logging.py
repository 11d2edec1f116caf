"""One line per event on the command line; libraries' details with -v 1.

Orbit's Controller writes each event twice, to the absl log and with
`print`, and pretty-prints output dicts over several lines; TensorFlow and
Keras add INFO lines about savers and callbacks. The training binary logs
its own one-line progress and evaluation results (`core/actions.py`), so
below verbosity 1 the INFO records of those libraries are dropped, and
Orbit's `print` echo of a message it has just logged is dropped always.
Warnings, errors and everything from other code pass untouched.
"""
import collections
import logging as std_logging
import os
import sys

from absl import logging

_QUIET_PACKAGES = ('orbit', 'tensorflow', 'tf_keras', 'keras')
_ORBIT_CONTROLLER = os.path.join('orbit', 'controller.py')


def _package_of(path: str) -> str:
  parts = path.split(os.sep)
  return parts[parts.index('site-packages') + 1] if 'site-packages' in parts else ''


class _QuietFilter(std_logging.Filter):
  """Drops library INFO records unless verbose; remembers Orbit's for the echo."""

  def __init__(self):
    super().__init__()
    self.orbit_messages = collections.deque(maxlen=8)

  def filter(self, record: std_logging.LogRecord) -> bool:
    if record.pathname.endswith(_ORBIT_CONTROLLER):
      self.orbit_messages.append(record.getMessage())
    if record.levelno >= std_logging.WARNING or logging.get_verbosity() >= 1:
      return True
    return _package_of(record.pathname) not in _QUIET_PACKAGES


class _EchoFilter:
  """A stdout that swallows Orbit's `print` of a message it has just logged."""

  def __init__(self, stream, recent):
    self._stream = stream
    self._recent = recent
    self._skip_newline = False

  def write(self, text: str) -> int:
    if text in self._recent:
      self._recent.remove(text)
      self._skip_newline = True
      return len(text)
    if self._skip_newline and text == '\n':
      self._skip_newline = False
      return len(text)
    self._skip_newline = False
    return self._stream.write(text)

  def __getattr__(self, name):
    return getattr(self._stream, name)


def one_line_per_event() -> None:
  """Installs both filters; call once, before the run starts."""
  quiet = _QuietFilter()
  logging.get_absl_handler().addFilter(quiet)
  sys.stdout = _EchoFilter(sys.stdout, quiet.orbit_messages)
