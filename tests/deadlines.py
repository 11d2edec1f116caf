"""Bounds on runs, in process and in subprocesses, so a hang fails a test instead of the suite."""
import contextlib
import signal

SUBPROCESS_TIMEOUT = 180


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


def finish(proc, stderr_path, timeout=SUBPROCESS_TIMEOUT):
  """(exit code, stderr) once `proc` ended; killed (and the test failed) after `timeout` s."""
  try:
    code = proc.wait(timeout=timeout)
  finally:
    if proc.poll() is None:
      proc.kill()
      proc.wait()
  with open(stderr_path) as f:
    return code, f.read()
