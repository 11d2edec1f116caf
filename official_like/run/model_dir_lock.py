"""One training process per model_dir: an exclusive `flock` on `model_dir/.lock`.

Two training processes on one model_dir would overwrite each other's
checkpoints, summaries and params.yaml. The chief of a training run holds
the lock from before it writes anything until the run ends, and writes its
pid, host and start time into the file so that a second run can say who has
it. The kernel drops an flock when its holder's process ends, however it
ends (SIGKILL included): a lock is held exactly while its process lives, so
the file a killed run leaves behind never blocks the next run and no pid has
to be checked. Evaluation modes only read the model_dir and take no lock.

flock needs a local (or flock-capable network) filesystem; model_dirs on
object stores (`gs://...`) are not locked, which is logged.
"""
import datetime
import errno
import fcntl
import os
import socket
from typing import Optional

from absl import logging

from official_like.run import file_patterns
from official_like.run.errors import RunError

LOCK_NAME = '.lock'


class ModelDirInUseError(RunError):
  """Another live process holds the model_dir's lock."""


def check_free(model_dir: str) -> None:
  """Raises ModelDirInUseError now if a live process holds model_dir's lock.

  For a second trainer's start, before TensorFlow is imported: the lock is
  taken and dropped at once, and a directory without a lock file is left
  untouched. The run still takes the lock for good later (`ModelDirLock`).
  """
  if file_patterns.is_remote(model_dir):
    return
  try:
    fd = os.open(os.path.join(model_dir, LOCK_NAME), os.O_RDWR)
  except OSError:
    return  # No lock file (or not ours to read): nobody can hold it.
  try:
    _lock_or_raise(fd, model_dir)
  finally:
    os.close(fd)


def _lock_or_raise(fd: int, model_dir: str) -> None:
  """flock(fd) without waiting; ModelDirInUseError naming the holder if it is taken."""
  try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
  except OSError as e:
    if e.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
      raise
    holder = os.pread(fd, 1000, 0).decode(errors='replace').strip()
    raise ModelDirInUseError(
        f'model_dir {model_dir} is in use by another training process '
        f'({holder or "holder unknown"}); wait for it to end, stop it, or use '
        'another --model_dir') from None


class ModelDirLock:
  """`with ModelDirLock(model_dir):` holds the lock, or raises ModelDirInUseError at once."""

  def __init__(self, model_dir: str):
    self.model_dir = model_dir
    self.path = os.path.join(model_dir, LOCK_NAME)
    self._fd: Optional[int] = None

  @property
  def held(self) -> bool:
    return self._fd is not None

  def acquire(self) -> 'ModelDirLock':
    if self._fd is not None:
      return self
    if file_patterns.is_remote(self.model_dir):
      logging.info('Not locking %s: flock needs a local filesystem', self.model_dir)
      return self
    os.makedirs(self.model_dir, exist_ok=True)
    fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
      _lock_or_raise(fd, self.model_dir)
    except BaseException:
      os.close(fd)
      raise
    now = datetime.datetime.now().isoformat(timespec='seconds')
    os.ftruncate(fd, 0)
    os.pwrite(fd, f'pid {os.getpid()} on host {socket.gethostname()} since {now}\n'
              .encode(), 0)
    self._fd = fd
    return self

  def release(self) -> None:
    if self._fd is None:
      return
    fd, self._fd = self._fd, None
    os.ftruncate(fd, 0)
    os.close(fd)  # Closing the only descriptor drops the flock.

  def __enter__(self) -> 'ModelDirLock':
    return self.acquire()

  def __exit__(self, *exc_info) -> None:
    self.release()

  def __del__(self):
    if getattr(self, '_fd', None) is not None:
      os.close(self._fd)
