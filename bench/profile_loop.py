"""Where a train loop's time goes: all variants in one process, loops interleaved.

On a shared machine, separate processes measured minutes apart see
different loads; here every variant is built once in one process (the same
builders as `_steady_child.py`) and their 100-step loops run round-robin, so
a load spike hits all of them. Not the official figure (`steady_state.py`
is), but stable enough to tell a 3% change from noise, which is what
profiling needs.

  python bench/profile_loop.py [--job mlp] [--rounds 40] [--mode trainer]
  python bench/profile_loop.py --variants raw ours_default ours_default+eager_end
  python bench/profile_loop.py --pieces ours_one_device

`--mode controller` (default) times Orbit's whole loop - `Controller.train`
for 100 more steps: the loop, train_loop_end, actions, summaries and the
checkpoint check. `--mode trainer` times `trainer.train` only. `--pieces`
prints the median ms per loop of each piece of the Controller's loop.
"""
import argparse
import collections
import functools
import statistics
import sys
import tempfile
import time

import orbit
import tensorflow as tf

import _steady_child

STEPS = _steady_child.STEPS_PER_LOOP


def build(variant: str, job: str):
  """`variant`'s Controller, or for raw a function running one 100-step loop.

  `ours_*+eager_end` is our Trainer with its loop end run eagerly every
  time, as on Orbit's plain path: the A/B of the compiled loop end.
  """
  if variant == 'raw':
    return _steady_child.build_raw(job, 10**6)
  variant, eager_end = variant.split('+')[0], variant.endswith('+eager_end')
  built = []
  original = orbit.Controller.__init__

  def init(self, *args, **kwargs):
    original(self, *args, **kwargs)
    built.append(self)
  orbit.Controller.__init__ = init
  try:
    library, strategy = variant.split('_', 1)
    run = {'ours': _steady_child.run_ours, 'tfm': _steady_child.run_tfm}[library]
    run(job, 300, 'off' if strategy == 'default' else strategy,
        tempfile.mkdtemp() + '/run')
  finally:
    orbit.Controller.__init__ = original
  controller = built[-1]
  if eager_end:
    trainer = controller.trainer
    trainer.train_loop_end = trainer._loop_end_logs  # pylint: disable=protected-access
  if controller.checkpoint_manager:  # Only the final checkpoint, as in the bench.
    controller.checkpoint_manager._checkpoint_interval = 10**9  # pylint: disable=protected-access
  return controller


def loop_fn(controller, mode: str):
  """One loop of a built variant: raw's own function, or the Controller's loop."""
  if not isinstance(controller, orbit.Controller):
    return controller

  def one_loop():
    with controller.strategy.scope():
      if mode == 'trainer':
        controller.trainer.train(tf.constant(STEPS))
      else:
        controller.train(int(controller.global_step.numpy()) + STEPS,
                         checkpoint_at_completion=False)
  return one_loop


def interleave(loops: dict, rounds: int) -> None:
  """Median and best steps/s per variant, and the median ratio to the first."""
  for loop in loops.values():
    loop()
    loop()
  times = collections.defaultdict(list)
  for _ in range(rounds):
    for variant, loop in loops.items():
      start = time.perf_counter()
      loop()
      times[variant].append(time.perf_counter() - start)
  base = next(iter(loops))
  for variant, spent in times.items():
    ratio = statistics.median(b / s for b, s in zip(times[base], spent))
    print(f'{variant:16s} median {STEPS / statistics.median(spent):7.0f} steps/s  '
          f'best {STEPS / min(spent):7.0f}  speed / {base}: {ratio:.3f}')


def pieces(controller, rounds: int) -> None:
  """Median ms per loop of the trainer's loop, its loop end, each action, summaries."""
  spent = collections.defaultdict(list)

  def timed(name, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
      start = time.perf_counter()
      try:
        return fn(*args, **kwargs)
      finally:
        spent[name].append(time.perf_counter() - start)
    return wrapper

  trainer, summaries = controller.trainer, controller.summary_manager
  trainer.train = timed('trainer.train (loop + loop end)', trainer.train)
  trainer.train_loop_end = timed('  train_loop_end', trainer.train_loop_end)
  controller.train_actions = tuple(
      timed(f'action {getattr(a, "__qualname__", type(a).__name__)}', a)
      for a in controller.train_actions)
  summaries.write_summaries = timed('summary_manager.write_summaries',
                                    summaries.write_summaries)
  summaries.flush = timed('summary_manager.flush', summaries.flush)
  one_loop = timed('Controller.train (whole loop)', loop_fn(controller, 'controller'))
  for _ in range(3):
    one_loop()
  spent.clear()
  for _ in range(rounds):
    one_loop()
  for name, values in spent.items():
    print(f'{name:48s} {1000 * statistics.median(values):8.2f} ms')


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--job', default='mlp', choices=sorted(_steady_child.JOBS))
  parser.add_argument('--variants', nargs='+', default=list(_steady_child.VARIANTS),
                      choices=_steady_child.VARIANTS + tuple(
                          v + '+eager_end' for v in _steady_child.VARIANTS if 'ours' in v))
  parser.add_argument('--rounds', type=int, default=40)
  parser.add_argument('--mode', default='controller', choices=['controller', 'trainer'])
  parser.add_argument('--pieces', choices=_steady_child.VARIANTS[1:],
                      help='break one variant\'s loop down instead')
  args = parser.parse_args()
  if args.pieces:
    pieces(build(args.pieces, args.job), args.rounds)
    return
  loops = {v: loop_fn(build(v, args.job), args.mode) for v in args.variants}
  interleave(loops, args.rounds)
  sys.stdout.flush()


if __name__ == '__main__':
  main()
