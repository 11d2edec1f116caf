"""`lr_values`: the NumPy twin of every built-in schedule equals the TensorFlow one.

The twin decides, before TensorFlow loads, whether a planned rate is 0 over
the whole run; it is only trustworthy while it computes what the schedules
compute, so each built-in type (with offsets and both warmups) is compared
with the factory's schedule over a range of steps.
"""
import numpy as np
import pytest
import tensorflow as tf

from official_like.modeling.optimization import OptimizationConfig
from official_like.modeling.optimization import OptimizerFactory
from official_like.modeling.optimization import lr_values
from official_like.modeling.optimization.registry import LR_CLS

SCHEDULES = {
    'constant': {'learning_rate': 0.3},
    'stepwise': {'boundaries': [30, 90], 'values': [1.0, 0.1, 0.01], 'offset': 5},
    'exponential': {'initial_learning_rate': 0.5, 'decay_steps': 40,
                    'decay_rate': 0.5, 'staircase': True, 'offset': 10},
    'polynomial': {'initial_learning_rate': 0.5, 'decay_steps': 80, 'power': 2.0,
                   'end_learning_rate': 0.01, 'offset': 20},
    'cosine': {'initial_learning_rate': 0.2, 'decay_steps': 100, 'alpha': 0.1,
               'offset': 20},
    'power': {'initial_learning_rate': 0.4, 'power': -0.5},
    'power_linear': {'initial_learning_rate': 0.4, 'total_decay_steps': 120,
                     'power': -0.5, 'linear_decay_fraction': 0.25, 'offset': 3},
    'power_with_offset': {'initial_learning_rate': 0.4, 'power': -0.5, 'offset': 10,
                          'pre_offset_learning_rate': 2.0},
    'step_cosine_with_offset': {'boundaries': [0, 50, 100], 'values': [1.0, 0.5, 0.1]},
    'wsd': {'initial_learning_rate': 0.3, 'decay_steps': 120, 'decay_fraction': 0.3,
            'decay_shape': '1-sqrt', 'alpha': 0.05, 'offset': 10},
    'cosine_restarts': {'initial_learning_rate': 0.3, 'first_decay_steps': 20,
                        't_mul': 2.0, 'm_mul': 0.8, 'alpha': 0.05},
    'inverse_sqrt': {'initial_learning_rate': 0.01, 'warmup_steps': 25, 'offset': 5},
    'one_cycle': {'max_learning_rate': 0.5, 'decay_steps': 120, 'three_phase': True},
    'linear': {'initial_learning_rate': 0.3, 'decay_steps': 90,
               'end_learning_rate': 0.02, 'offset': 7},
}
WARMUPS = [None, {'type': 'linear', 'linear': {'warmup_steps': 15,
                                                'warmup_learning_rate': 0.01}},
           {'type': 'polynomial', 'polynomial': {'warmup_steps': 15, 'power': 2.0}}]


def config(kind, warmup):
  params = {'optimizer': {'type': 'sgd'},
            'learning_rate': {'type': kind, kind: SCHEDULES[kind]}}
  if warmup:
    params['warmup'] = warmup
  return OptimizationConfig(params)


def test_every_built_in_schedule_has_a_twin():
  assert set(SCHEDULES) == set(lr_values.SCHEDULES) <= set(LR_CLS)


@pytest.mark.parametrize('warmup', WARMUPS, ids=['none', 'linear', 'polynomial'])
@pytest.mark.parametrize('kind', sorted(SCHEDULES))
def test_numpy_values_equal_the_schedule(kind, warmup):
  c = config(kind, warmup)
  steps = np.arange(0, 200)
  schedule = OptimizerFactory(c).build_schedule()
  expected = schedule(tf.constant(steps, tf.int64)).numpy()
  got = lr_values.rates(c, steps)
  finite = np.isfinite(expected)
  assert np.array_equal(finite, np.isfinite(got))
  np.testing.assert_allclose(got[finite], expected[finite], rtol=2e-5, atol=1e-7)


def test_planned_steps_keep_warmup_breakpoints_and_budget():
  c = config('stepwise', WARMUPS[1])
  c.override({'learning_rate': {'stepwise': {'boundaries': [30000, 60000],
                                             'offset': 0}}})
  steps = lr_values.planned_steps(c, 100000)
  assert len(steps) <= 1000 and steps[0] == 0 and steps[-1] == 100000
  assert set(range(16)) <= set(steps.tolist())
  assert {29999, 30000, 30001, 59999, 60000, 60001} <= set(steps.tolist())
  assert np.array_equal(lr_values.planned_steps(c, 500), np.arange(501))


def test_schedule_without_twin_gives_none():
  c = config('cosine', None)  # As if registered at run time: an unknown type.
  object.__setattr__(c.learning_rate, 'type', 'not_registered')
  assert lr_values.rates(c, [0, 1]) is None
