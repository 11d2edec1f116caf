"""`RunError`: a run that cannot go on, for a reason one line explains.

A diverged loss after its recoveries, a model_dir held by another training
process, a continuous evaluation that never saw a checkpoint: none is a bug,
so `trainer_main.py` prints the message alone, without a traceback. It is a
RuntimeError, as TFM raises for the same cases.
"""


class RunError(RuntimeError):
  """The message is the one line shown to the user."""
