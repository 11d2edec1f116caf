"""ImageNet-shaped training: hand-written loop vs official_like vs TF Model Garden.

What an image model's long run pays for, at ImageNet's shape on a small
scale: JPEG TFRecords in several shards (written here, into a temporary
directory), TFM's classification decode with stateless random crop and flip
(`imagenet_shaped_task.py`), `shuffle_buffer_size: 10000`, TFM's ResNet-18
with a classification head, SGD momentum with warmup and cosine decay.
Variants run in their own processes (`_imagenet_child.py`), alternating, the
order rotated per repetition; speed comes from loop timestamps as in
`steady_state.py`, after the first two loops.

  python bench/imagenet_shaped.py            # ~15 min on 2 quiet cores
  python bench/imagenet_shaped.py --quick    # tiny sizes, ~2-3 min: a smoke run

Prints images/s, CPU ms/step, cold start and peak RSS per variant; the
ratios b/a and b/c of images/s; checkpoint size and save time of b and c
(the save after the first loop and the last one), each against its target.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import steady_state

VARIANTS = {  # child variant -> label
    'raw': 'a  hand-written tf.function loop',
    'ours': 'b  official_like run_experiment',
    'tfm': 'c  TFM run_experiment',
}
FULL = {'num_images': 10000, 'stored_size': 128, 'num_shards': 8, 'num_classes': 100,
        'image_size': 64, 'batch_size': 32, 'steps': 150, 'steps_per_loop': 15, 'reps': 3}
QUICK = {'num_images': 300, 'stored_size': 32, 'num_shards': 4, 'num_classes': 10,
         'image_size': 32, 'batch_size': 16, 'steps': 30, 'steps_per_loop': 10, 'reps': 2}
MB = 2**20


def write_data(directory: str, sizes: dict) -> str:
  """The JPEG TFRecords; returns their glob. TensorFlow is imported here, not at start."""
  from experiments import zoo_tfrecords  # pylint: disable=g-import-not-at-top
  start = time.monotonic()
  path = zoo_tfrecords.classification_shards(
      directory, sizes['num_shards'], sizes['num_images'], sizes['stored_size'],
      sizes['num_classes'])
  print(f"wrote {sizes['num_images']} JPEGs of {sizes['stored_size']} px in "
        f"{sizes['num_shards']} shards in {time.monotonic() - start:.0f} s", file=sys.stderr)
  return path


def measure(child: dict, spawned: float) -> dict:
  """steady_state.measure plus the checkpoint saves [(seconds, bytes)]."""
  return dict(steady_state.measure(child, spawned), saves=child['saves'])


def median_of(runs, key) -> float:
  return statistics.median(run[key] for run in runs)


def print_speed(results: dict, batch_size: int) -> None:
  print(f"{'variant':34s} {'images/s':>16s} {'CPU ms/step':>11s} {'cold start s':>15s} "
        f"{'(own part) s':>15s} {'peak RSS MiB':>14s}")
  for variant, runs in results.items():
    column = lambda key, fmt='{:.0f}': steady_state.spread(  # noqa: E731
        [r[key] for r in runs], fmt)
    images = steady_state.spread([r['steps_per_s'] * batch_size for r in runs], '{:.1f}')
    print(f'{VARIANTS[variant]:34s} {images:>16s} {median_of(runs, "cpu_ms_per_step"):11.1f} '
          f'{column("cold_start_s", "{:.1f}"):>15s} '
          f'{column("to_first_loop_s", "{:.2f}"):>15s} {column("peak_rss_mb"):>14s}')


def print_ratio(label: str, ratios, target: float, higher_is_better: bool) -> None:
  met = (statistics.median(ratios) >= target if higher_is_better
         else statistics.median(ratios) <= target)
  sign = '>=' if higher_is_better else '<='
  print(f'{label:34s} {steady_state.spread(ratios, "{:.2f}"):>18s}  '
        f"(target {sign} {target}: {'ok' if met else 'NOT MET'})")


def print_targets(results: dict) -> None:
  a, b, c = results['raw'], results['ours'], results['tfm']
  per_rep = lambda key, den: [x[key] / y[key] for x, y in zip(b, den)]  # noqa: E731
  print_ratio('images/s b/a', per_rep('steps_per_s', a), 0.95, True)
  print_ratio('images/s b/c', per_rep('steps_per_s', c), 1.0, True)
  print_ratio('peak RSS b/c', per_rep('peak_rss_mb', c), 1.1, False)
  print_ratio('cold start b/c', per_rep('cold_start_s', c), 1.0, False)
  for which, label in ((0, 'first'), (-1, 'last')):
    print_ratio(f'checkpoint save time b/c, {label}',
                [x['saves'][which][0] / y['saves'][which][0] for x, y in zip(b, c)], 1.1, False)
  size_b, size_c = (statistics.median(r['saves'][-1][1] for r in runs) for runs in (b, c))
  verdict = 'ok' if size_b <= size_c + MB else 'NOT MET'
  print(f'checkpoint size: b {size_b / MB:.2f} MiB, c {size_c / MB:.2f} MiB, '
        f'b - c {(size_b - size_c) / 1024:+.1f} KiB (target b <= c + 1 MiB: {verdict})')
  for variant, runs in (('b', b), ('c', c)):
    firsts, lasts = ([r['saves'][i][0] for r in runs] for i in (0, -1))
    print(f'checkpoint save s, {variant}: first {steady_state.spread(firsts, "{:.3f}")}, '
          f'last {steady_state.spread(lasts, "{:.3f}")}')


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--quick', action='store_true',
                      help='300 images of 32 px, 30 steps, 2 repetitions: a smoke run')
  parser.add_argument('--reps', type=int, help='repetitions (default 3, --quick: 2)')
  parser.add_argument('--steps', type=int,
                      help='training steps, run in 10 loops (default 150; --quick: 30 in 3)')
  parser.add_argument('--strategy', default='one_device', choices=['one_device', 'off'])
  args = parser.parse_args(argv)
  sizes = dict(QUICK if args.quick else FULL)
  sizes['reps'] = args.reps or sizes['reps']
  if args.steps:
    if args.steps < 30 or args.steps % 10:
      parser.error(f'--steps must be a multiple of 10 and at least 30, got {args.steps}')
    sizes.update(steps=args.steps, steps_per_loop=args.steps // 10)
  with tempfile.TemporaryDirectory() as data_dir:
    settings = {'input_path': write_data(data_dir, sizes), 'model_id': 18,
                'strategy': args.strategy, **{key: sizes[key] for key in (
                    'image_size', 'batch_size', 'steps', 'steps_per_loop', 'num_classes')}}
    results = steady_state.run_alternating(
        '_imagenet_child.py', list(VARIANTS), sizes['reps'], [json.dumps(settings)],
        'imagenet', measure_fn=measure)
  loads = results.pop('load')
  print(f"\nImageNet-shaped{' (--quick: NOT a measurement)' if args.quick else ''}: "
        f"ResNet-{settings['model_id']}, {sizes['num_images']} JPEGs of "
        f"{sizes['stored_size']} px, {sizes['num_classes']} classes, crops of "
        f"{sizes['image_size']} px, batch {sizes['batch_size']}, shuffle buffer 10000, "
        f"{sizes['steps']} steps, {args.strategy}, {sizes['reps']} repetitions, "
        f'median [min-max]; {os.cpu_count()} CPUs, 1-min load {loads[0]:.1f} before, '
        f'{loads[1]:.1f} after')
  print_speed(results, sizes['batch_size'])
  print_targets(results)


if __name__ == '__main__':
  main()
