"""One line per event on the command line; libraries' details with -v 1.

Orbit's Controller writes each event twice, to the absl log and with
`print`, and pretty-prints output dicts over several lines; TensorFlow and
Keras add INFO lines about savers and callbacks. The training binary logs
its own one-line progress and evaluation results (`core/actions.py`), so
below verbosity 1 the INFO records of those libraries are dropped, and
Orbit's `print` echo of a message it has just logged is dropped always.
Warnings, errors and everything from other code pass untouched.

Below verbosity 1 a line is its message alone (`warning: ` or `error: `
in front when it is one): absl's `I1207 00:45:55.077276 140179671116672
actions.py:57]` prefix, 45 characters of the same, comes back with -v 1.
DEBUG records of other libraries (matplotlib logs ~300 `findfont` lines
per figure) need -v 2: absl's -v 1 means DEBUG for every Python logger.
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
    verbosity = logging.get_verbosity()
    if record.levelno < std_logging.INFO and verbosity < 2:
      return _package_of(record.pathname) == ''  # Ours and the user's: not libraries'.
    if record.levelno >= std_logging.WARNING or verbosity >= 1:
      return True
    return _package_of(record.pathname) not in _QUIET_PACKAGES


class _PlainFormatter(std_logging.Formatter):
  """The message alone below verbosity 1; absl's own format (`fallback`) above."""

  def __init__(self, fallback: std_logging.Formatter):
    super().__init__()
    self._fallback = fallback

  def format(self, record: std_logging.LogRecord) -> str:
    if logging.get_verbosity() >= 1:
      return self._fallback.format(record)
    text = record.getMessage()
    if record.levelno >= std_logging.ERROR:
      return f'error: {text}'
    return f'warning: {text}' if record.levelno >= std_logging.WARNING else text


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
  handler = logging.get_absl_handler()
  handler.addFilter(quiet)
  handler.setFormatter(_PlainFormatter(handler.formatter or logging.PythonFormatter()))
  sys.stdout = _EchoFilter(sys.stdout, quiet.orbit_messages)
