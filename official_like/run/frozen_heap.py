"""The objects a run built before training are kept out of the cyclic collector's walks.

Before its first step a run holds its model, optimizer, traced functions and
configs: about 540,000 tracked Python objects for TFM's ResNet-18. Every
full (generation-2) collection walks them all, ~250 ms on 2 CPU cores, and
the allocations of a run's first checkpoint save reliably trigger one: that
save took 0.52 s instead of 0.28 s (`bench/imagenet_shaped.py`; 0.28 s with
collection off). `gc.freeze()` moves the objects that exist to the permanent
generation for the run, so a collection walks only what the run allocated
since; `gc.unfreeze()` at the end hands them back, so cyclic garbage among
them is freed after the run. Cyclic garbage from before the run waits until
then; reference counting frees everything else as usual.
"""
import contextlib
import gc


@contextlib.contextmanager
def frozen():
  """Freezes the heap inside, unless collection is off or someone else froze it."""
  if not gc.isenabled() or gc.get_freeze_count():
    yield
    return
  gc.freeze()
  try:
    yield
  finally:
    gc.unfreeze()
