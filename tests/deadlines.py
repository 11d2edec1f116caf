"""A bound on in-process runs, so a hang fails a test instead of the suite."""
import contextlib
import signal


@contextlib.contextmanager
def deadline(seconds):
  """Raises TimeoutError in the block once `seconds` have passed."""
  def hung(*_):
    raise TimeoutError(f'no return within {seconds} s')
  previous = signal.signal(signal.SIGALRM, hung)
  signal.alarm(seconds)
  try:
    yield
  finally:
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)
