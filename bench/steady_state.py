"""Steady-state training speed: hand-written loop vs official_like vs TF Model Garden.

Whole-run timings of short jobs are mostly tracing and set-up; what a long
training run pays for is the time per step once everything is warm. Each
variant therefore trains in its own process (`_steady_child.py`), variants
alternate (a b b' c c', then b b' c c' a, ...) so machine load and the
order hit all of them alike, and the speed is read from loop timestamps
between the end of loop 2 and the end of the last loop. Ratios are taken within one repetition, then
summarised as median [min-max] over the repetitions.

  python bench/steady_state.py [--quick] [--jobs mlp cnn] [--reps N]
"""
import argparse
import os
import statistics
import sys
import time

import _child

VARIANTS = {  # child variant -> label
    'raw': 'a  hand-written tf.function loop',
    'ours_one_device': 'b  official_like, one_device',
    'ours_default': "b' official_like, default strategy",
    'tfm_one_device': 'c  TFM, one_device',
    'tfm_default': "c' TFM, default strategy",
}
RATIOS = (  # label, numerator, denominator, target
    ('b/a   one_device', 'ours_one_device', 'raw', 0.95),
    ("b'/a  default", 'ours_default', 'raw', 0.95),
    ('b/c   one_device', 'ours_one_device', 'tfm_one_device', 1.3),
    ("b'/c' default", 'ours_default', 'tfm_default', 1.3),
)


def measure(child: dict, spawned: float) -> dict:
  """Steady steps/s and CPU ms/step from loop 2's end to the last; cold start.

  `to_first_loop_s` is the part of the cold start after the shared imports
  (TensorFlow, the digits data): the library's own imports, building, tracing
  and the first loop.
  """
  ends = child['loop_ends']
  (t0, s0, c0), (t1, s1, c1) = ends[1], ends[-1]
  return {'steps_per_s': (s1 - s0) / (t1 - t0),
          'cpu_ms_per_step': 1000 * (c1 - c0) / (s1 - s0),
          'cold_start_s': ends[0][0] - spawned,
          'to_first_loop_s': ends[0][0] - child['started'],
          'peak_rss_mb': child['peak_rss_mb']}


def run_alternating(script: str, variants, reps: int, args, tag: str, log=print,
                    measure_fn=measure) -> dict:
  """{variant: [measure_fn(child result, spawn time) per repetition]}, variants alternating.

  Every variant runs `bench/<script> VARIANT *args` once per repetition; the
  order rotates, so each variant also runs first, after b, after c, ...
  """
  results = {variant: [] for variant in variants}
  results['load'] = [os.getloadavg()[0]]
  for rep in range(reps):
    shift = rep % len(variants)
    for variant in variants[shift:] + variants[:shift]:
      spawned = time.monotonic()
      result = measure_fn(_child.run(script, variant, *args), spawned)
      results[variant].append(result)
      log(f'  [{tag} rep {rep + 1}/{reps}] {variant:16s} '
          f"{result['steps_per_s']:7.2f} steps/s", file=sys.stderr)
  results['load'].append(os.getloadavg()[0])
  return results


def run_job(job: str, steps: int, reps: int, variants, log=print) -> dict:
  return run_alternating('_steady_child.py', variants, reps, [job, str(steps)], job, log)


def spread(values, fmt='{:.0f}') -> str:
  return (fmt.format(statistics.median(values)) + ' [' + fmt.format(min(values)) +
          '-' + fmt.format(max(values)) + ']')


def print_job(job: str, steps: int, reps: int, results: dict) -> None:
  load = results.pop('load')
  print(f'\nSteady state, {job}: {steps} steps, {reps} repetitions, median [min-max]; '
        f'{os.cpu_count()} CPUs, 1-min load {load[0]:.1f} before, {load[1]:.1f} after')
  print(f"{'variant':36s} {'steps/s':>16s} {'CPU ms/step':>11s} {'cold start s':>15s} "
        f"{'(own part) s':>15s} {'peak RSS MiB':>14s}")
  for variant, runs in results.items():
    column = lambda key, fmt='{:.0f}': spread([r[key] for r in runs], fmt)  # noqa: E731
    print(f'{VARIANTS[variant]:36s} {column("steps_per_s"):>16s} '
          f'{statistics.median(r["cpu_ms_per_step"] for r in runs):11.3f} '
          f'{column("cold_start_s", "{:.1f}"):>15s} '
          f'{column("to_first_loop_s", "{:.2f}"):>15s} {column("peak_rss_mb"):>14s}')
  for label, num, den, target in RATIOS:
    if num in results and den in results:
      ratios = [n['steps_per_s'] / d['steps_per_s']
                for n, d in zip(results[num], results[den])]
      verdict = 'ok' if statistics.median(ratios) >= target else 'below target'
      print(f'ratio {label:18s} {spread(ratios, "{:.2f}"):>18s}  '
            f'(target >= {target}: {verdict})')
  for ours, tfm in (('ours_one_device', 'tfm_one_device'), ('ours_default', 'tfm_default')):
    if ours in results and tfm in results:
      for key, label in (('cold_start_s', 'cold start'), ('to_first_loop_s', '  own part'),
                         ('peak_rss_mb', 'peak RSS')):
        ratios = [o[key] / t[key] for o, t in zip(results[ours], results[tfm])]
        print(f'{label} {ours}/{tfm}: {spread(ratios, "{:.2f}")} (target <= 1)')


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--quick', action='store_true',
                      help='1,000 steps and 2 repetitions, for development')
  parser.add_argument('--jobs', nargs='+', default=['mlp', 'cnn'], choices=['mlp', 'cnn'])
  parser.add_argument('--variants', nargs='+', default=list(VARIANTS), choices=list(VARIANTS))
  parser.add_argument('--steps', type=int, help='default 5000 (--quick: 1000)')
  parser.add_argument('--reps', type=int, help='default 5 (--quick: 2)')
  args = parser.parse_args(argv)
  steps = args.steps or (1000 if args.quick else 5000)
  reps = args.reps or (2 if args.quick else 5)
  for job in args.jobs:
    print_job(job, steps, reps, run_job(job, steps, reps, args.variants))


if __name__ == '__main__':
  main()
