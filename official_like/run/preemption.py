"""SIGTERM and Ctrl-C while training: save a checkpoint of the current step, then stop.

A cluster sends SIGTERM before it takes a machine away; a user presses
Ctrl-C. Either way the run leaves a checkpoint of the step it reached and
stops without a traceback, and rerunning the same command resumes exactly
(the checkpoint holds the input position and random state too).

Multi-worker runs keep TensorFlow's `PreemptionCheckpointHandler` (through
`orbit.actions.SaveCheckpointIfPreempted`), because there all workers must
agree on the step to save. A single process uses this module instead: that
handler watches SIGTERM only, installs a handler it never removes, adds a
variable of its own to the checkpoint, restores the checkpoint a second
time, and ends the process with a platform restart code (sys.exit(42) off
Google Cloud) rather than a message.

The signal handler only records the signal; `SaveAndStopOnSignal`, an
Orbit train action, saves and stops at the end of the running train loop,
so no step is cut in half. The runner catches the signals exactly when it
built that action (`train_lib.OrbitExperimentRunner._build_stop_on_signal`). A second signal gets the previous handler
(Ctrl-C raises KeyboardInterrupt, SIGTERM ends the process), so a stuck run
can still be stopped.
"""
import contextlib
import os
import signal
import threading
from typing import List

from absl import logging
import tensorflow as tf

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_received: List[int] = []


class Preempted(Exception):
  """Training stopped on a signal after saving `path` at `step`.

  `exit_code` is 128 + the signal's number (143 for SIGTERM, 130 for
  Ctrl-C), as a shell reports a process ended by that signal: schedulers
  see an unfinished run, not a success.
  """

  def __init__(self, signum: int, step: int, path: str):
    self.signum, self.step, self.path = signum, step, path
    self.exit_code = 128 + signum
    super().__init__(
        f'Preempted at step {step} ({signal.Signals(signum).name}): saved '
        f'{os.path.basename(path)}; rerun the same command to resume.')


def received() -> List[int]:
  """The stop signals received since `stop_signals_caught` was entered."""
  return list(_received)


@contextlib.contextmanager
def stop_signals_caught():
  """Records SIGTERM/SIGINT instead of dying, for the duration of the block.

  Handlers can only be installed from the main thread; elsewhere the block
  runs with the process's handlers unchanged.
  """
  if threading.current_thread() is not threading.main_thread():
    yield
    return
  previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}

  def restore():
    for s, handler in previous.items():
      signal.signal(s, handler)

  def record(signum, frame):
    del frame
    _received.append(signum)
    restore()
    logging.warning('%s received: saving a checkpoint at the end of this train '
                    'loop, then stopping (send it again to stop at once)',
                    signal.Signals(signum).name)

  _received.clear()
  for s in STOP_SIGNALS:
    signal.signal(s, record)
  try:
    yield
  finally:
    restore()
    _received.clear()


class SaveAndStopOnSignal:
  """Orbit train action: after a stop signal, saves the current step and raises Preempted."""

  def __init__(self, checkpoint_manager: tf.train.CheckpointManager,
               global_step: tf.Variable):
    self._manager = checkpoint_manager
    self._global_step = global_step

  def __call__(self, output) -> None:
    del output
    if not _received:
      return
    step = int(self._global_step.numpy())
    path = self._manager.latest_checkpoint
    if not (path and path.endswith(f'-{step}')):
      path = self._manager.save(checkpoint_number=step, check_interval=False)
    sync = getattr(self._manager, 'sync', None)
    if sync:
      sync()  # An asynchronous save must reach disk before the process ends.
    raise Preempted(_received[0], step, path)
