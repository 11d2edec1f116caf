"""Prints every benchmark as `ours / TFM` ratios measured side by side in one run.

`make bench` runs it: first the steady-state training table
(`steady_state.py`, what long runs pay for), then the ImageNet-shaped
table (`imagenet_shaped.py`: JPEG TFRecords, ResNet-18), then the start-up rows, where a
ratio below 1.0 means official_like is faster (or smaller). Numbers vary
with the machine's load; the ratios are what matter.

  python bench/run_all.py [--quick]

bench/README.md describes the table, the machine the recorded figures come
from and `profile_loop.py`, the tool that breaks a loop down.
"""
import argparse

import _child
import imagenet_shaped
import steady_state


def row(name, ours, tfm, unit):
  print(f'{name:34s} {ours:12.4g} {tfm:12.4g} {unit:8s} {ours / tfm:8.3f}')


def _alternating(script, *args, rounds=2):
  """Best of `rounds` runs per side, alternating sides so cache warmth is shared."""
  runs = {'ours': [], 'tfm': []}
  for _ in range(rounds):
    for side in ('tfm', 'ours'):
      runs[side].append(_child.run(script, side, *args))
  return {side: min(results, key=lambda r: r['seconds']) for side, results in runs.items()}


def start_up_rows(steps: str = '1000'):
  print()
  print(f"{'benchmark':34s} {'ours':>12s} {'TFM':>12s} {'unit':8s} {'ours/TFM':>8s}")
  imports = _alternating('bench_import.py')
  row('import training stack', imports['ours']['seconds'], imports['tfm']['seconds'], 's')
  row('  modules loaded', imports['ours']['modules'], imports['tfm']['modules'], 'count')
  row('  peak RSS after import', imports['ours']['peak_rss_mb'],
      imports['tfm']['peak_rss_mb'], 'MiB')
  in_process = _child.run('bench_in_process.py')
  in_process.pop('peak_rss_mb')
  for name, sides in in_process.items():
    row(f'{name} (per call)', sides['ours'], sides['tfm'], 's')
  training = _alternating('bench_training.py', steps)
  row(f'train digits_mlp {steps} steps', training['ours']['seconds'],
      training['tfm']['seconds'], 's')
  row('  peak RSS', training['ours']['peak_rss_mb'], training['tfm']['peak_rss_mb'], 'MiB')


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--quick', action='store_true',
                      help='fewer steps and repetitions, for development')
  args = parser.parse_args()
  steady_state.main(['--quick'] if args.quick else [])
  imagenet_shaped.main(['--quick'] if args.quick else [])
  start_up_rows('300' if args.quick else '1000')


if __name__ == '__main__':
  main()
