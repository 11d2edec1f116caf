"""Child: config building and LR schedule evaluation, both libraries in one process.

Both sides are timed alternately in the same process, so they share the
machine's state; each number is the best of several repeats.
"""
import timeit

from _child import report

import tensorflow as tf  # pylint: disable=g-import-not-at-top

from official.modeling import optimization as tfm_optimization
from official_like.modeling import optimization

SEED_PARAMS = {
    'optimizer': {'type': 'sgd', 'sgd': {'momentum': 0.9}},
    'learning_rate': {'type': 'stepwise', 'stepwise': {
        'boundaries': [10000, 20000], 'values': [0.1, 0.01, 0.001]}},
    'warmup': {'type': 'linear', 'linear': {'warmup_steps': 500,
                                            'warmup_learning_rate': 0.01}}}
SCHEDULES = {
    'cosine': {'cosine': {'initial_learning_rate': 0.1, 'decay_steps': 20000}},
    'polynomial': {'polynomial': {'initial_learning_rate': 0.1, 'decay_steps': 20000}},
    'stepwise': SEED_PARAMS['learning_rate'],
    'power_linear': {'power_linear': {'initial_learning_rate': 0.1,
                                      'total_decay_steps': 20000}},
}


def best(fn, number):
  return min(timeit.repeat(fn, number=number, repeat=5)) / number


def config_seconds(lib):
  def build():
    config = lib.OptimizationConfig(SEED_PARAMS)
    config.override({'optimizer': {'sgd': {'momentum': 0.8}}})
    return config.as_dict()
  return best(build, 200)


def schedule_seconds(lib, name, params):
  lr_params = {'type': name, **{k: v for k, v in params.items() if k != 'type'}}
  config = lib.OptimizationConfig({**SEED_PARAMS, 'learning_rate': lr_params})
  schedule = lib.OptimizerFactory(config).build_learning_rate()
  steps = tf.range(0, 30000, 3, dtype=tf.int64)
  evaluate = tf.function(lambda: tf.map_fn(schedule, steps, fn_output_signature=tf.float32))
  evaluate()
  return best(evaluate, 3)


def main():
  result = {'config': {'ours': config_seconds(optimization),
                       'tfm': config_seconds(tfm_optimization)}}
  for name, params in SCHEDULES.items():
    result[f'lr_{name}'] = {'ours': schedule_seconds(optimization, name, params),
                            'tfm': schedule_seconds(tfm_optimization, name, params)}
  report(result)


if __name__ == '__main__':
  main()
