"""The schedules TFM lacks (`lr_schedule_modern`) against closed-form values.

Each schedule is checked against an independent float64 NumPy transcription
of its formula (SGDR by walking the periods one by one, one-cycle by PyTorch's
phase loop), at every step around its boundaries, with and without an offset
and under a warmup; then against a few values worked out by hand, Keras'
`CosineDecayRestarts`, and the usual contract: pure function of the step
(int, float, tensor, tf.function), float32, serializable, built by the
factory from its config, and every config mistake reported with its key.
"""
import json
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from official_like.modeling import optimization
from official_like.modeling.hyperparams import ConfigError
from official_like.modeling.optimization import lr_schedule
from official_like.modeling.optimization import lr_schedule_modern as modern

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# float32 against float64: a cosine's last steps cancel to ~3e-8 absolute.
TOLERANCE = dict(rtol=2e-6, atol=1e-7)


def _wsd(t, initial_learning_rate, decay_steps, decay_fraction=0.1,
         decay_shape='linear', alpha=0.0):
  span = decay_steps * decay_fraction
  p = min(max((max(t, 0) - (decay_steps - span)) / span, 0.0), 1.0)
  left = {'linear': 1 - p, 'cosine': (1 + math.cos(math.pi * p)) / 2,
          '1-sqrt': 1 - math.sqrt(p)}[decay_shape]
  return initial_learning_rate * (alpha + (1 - alpha) * left)


def _sgdr(t, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0,
          alpha=0.0):
  t, start, length, period = max(t, 0), 0.0, float(first_decay_steps), 0
  while t >= start + length:
    start, length, period = start + length, length * t_mul, period + 1
  cosine = (1 + math.cos(math.pi * (t - start) / length)) / 2
  return initial_learning_rate * ((1 - alpha) * m_mul**period * cosine + alpha)


def _rsqrt(t, initial_learning_rate, warmup_steps):
  t = max(t, 1)
  return initial_learning_rate * min(t / warmup_steps,
                                     math.sqrt(warmup_steps / t))


def _one_cycle(t, max_learning_rate, decay_steps, pct_start=0.3,
               div_factor=25.0, final_div_factor=1e4, anneal_strategy='cos',
               three_phase=False):
  """PyTorch's OneCycleLR.get_lr, held flat outside [0, decay_steps - 1]."""
  low = max_learning_rate / div_factor
  final = low / final_div_factor
  up = pct_start * decay_steps - 1
  if three_phase:
    phases = [(up, low, max_learning_rate), (2 * up, max_learning_rate, low),
              (decay_steps - 1, low, final)]
  else:
    phases = [(up, low, max_learning_rate), (decay_steps - 1,
                                             max_learning_rate, final)]
  t, start_step = max(t, 0), 0.0
  for i, (end_step, start, end) in enumerate(phases):
    if t <= end_step or i == len(phases) - 1:
      p = min((t - start_step) / (end_step - start_step), 1.0)
      if anneal_strategy == 'cos':
        return end + (start - end) / 2 * (math.cos(math.pi * p) + 1)
      return (end - start) * p + start
    start_step = end_step


def _linear(t, initial_learning_rate, decay_steps, end_learning_rate=0.0):
  p = min(max(t, 0) / decay_steps, 1.0)
  return initial_learning_rate + (end_learning_rate - initial_learning_rate) * p


# (type, schedule class, reference, settings, steps where it changes course)
CASES = [
    ('wsd', modern.StableDecayWithOffset, _wsd,
     dict(initial_learning_rate=0.4, decay_steps=100, decay_fraction=0.2,
          decay_shape=shape, alpha=0.05), (80, 100))
    for shape in ('linear', 'cosine', '1-sqrt')
] + [
    ('wsd', modern.StableDecayWithOffset, _wsd,
     dict(initial_learning_rate=1.0, decay_steps=37, decay_fraction=1.0),
     (0, 37)),
    ('cosine_restarts', modern.CosineDecayRestartsWithOffset, _sgdr,
     dict(initial_learning_rate=0.5, first_decay_steps=10, t_mul=2.0,
          m_mul=0.5, alpha=0.1), (10, 30, 70, 150)),
    ('cosine_restarts', modern.CosineDecayRestartsWithOffset, _sgdr,
     dict(initial_learning_rate=0.5, first_decay_steps=7, t_mul=1.0,
          m_mul=0.8), (7, 14, 21, 70)),
    ('cosine_restarts', modern.CosineDecayRestartsWithOffset, _sgdr,
     dict(initial_learning_rate=1.0, first_decay_steps=8, t_mul=1.5),
     (8, 20, 38, 65)),
    ('inverse_sqrt', modern.InverseSqrtDecayWithOffset, _rsqrt,
     dict(initial_learning_rate=0.002, warmup_steps=40), (1, 40)),
    ('one_cycle', modern.OneCycleWithOffset, _one_cycle,
     dict(max_learning_rate=0.9, decay_steps=100), (29, 99)),
    ('one_cycle', modern.OneCycleWithOffset, _one_cycle,
     dict(max_learning_rate=0.9, decay_steps=90, pct_start=0.25,
          anneal_strategy='linear', div_factor=10.0, final_div_factor=100.0),
     (21.5, 89)),
    ('one_cycle', modern.OneCycleWithOffset, _one_cycle,
     dict(max_learning_rate=0.9, decay_steps=100, three_phase=True),
     (29, 58, 99)),
    ('linear', modern.LinearDecayWithOffset, _linear,
     dict(initial_learning_rate=0.3, decay_steps=60, end_learning_rate=0.01),
     (60,)),
]
IDS = [f'{c[0]}-{i}' for i, c in enumerate(CASES)]


def _steps(corners, offset):
  near = {int(c) + d for c in corners for d in (-2, -1, 0, 1, 2)}
  grid = set(range(0, int(max(corners)) + 40, 3))
  return sorted(s + offset for s in near | grid | {0, 10**6} if s >= 0) + [0]


@pytest.mark.parametrize('case', CASES, ids=IDS)
@pytest.mark.parametrize('offset', [0, 13])
def test_matches_closed_form(case, offset):
  _, cls, reference, settings, corners = case
  schedule = cls(offset=offset, **settings)
  steps = _steps(corners, offset)
  got = schedule(tf.constant(steps, tf.int64)).numpy()
  want = [reference(s - offset, **settings) for s in steps]
  np.testing.assert_allclose(got, want, **TOLERANCE)
  assert got.dtype == np.float32
  # Before the offset the schedule waits at its first value.
  early = schedule(tf.range(offset + 1)).numpy()
  np.testing.assert_array_equal(early, np.full(offset + 1, early[-1]))


@pytest.mark.parametrize('schedule,expected', [
    (modern.StableDecayWithOffset(1.0, 100, 0.2), {0: 1, 80: 1, 90: 0.5,
                                                   100: 0, 500: 0}),
    (modern.StableDecayWithOffset(1.0, 100, 0.2, 'cosine', alpha=0.2),
     {79: 1, 90: 0.6, 100: 0.2}),
    (modern.StableDecayWithOffset(1.0, 100, 0.2, '1-sqrt'),
     {85: 0.5, 95: 1 - math.sqrt(0.75)}),
    (modern.CosineDecayRestartsWithOffset(1.0, 10, 2.0, 0.5),
     {0: 1, 5: 0.5, 10: 0.5, 20: 0.25, 30: 0.25, 50: 0.125, 70: 0.125}),
    (modern.InverseSqrtDecayWithOffset(1.0, 100),
     {0: 0.01, 1: 0.01, 25: 0.25, 100: 1, 400: 0.5, 10000: 0.1}),
    (modern.OneCycleWithOffset(1.0, 100),
     {0: 0.04, 29: 1.0, 64: (1 + 4e-6) / 2, 99: 4e-6, 10**5: 4e-6}),
    (modern.OneCycleWithOffset(1.0, 100, anneal_strategy='linear'),
     {14.5: 0.52, 64: (1 + 4e-6) / 2}),
    (modern.LinearDecayWithOffset(1.0, 100, 0.1), {0: 1, 50: 0.55, 100: 0.1,
                                                   200: 0.1}),
])
def test_values_worked_out_by_hand(schedule, expected):
  for step, value in expected.items():
    np.testing.assert_allclose(float(schedule(step)), value, rtol=2e-6,
                               atol=1e-8, err_msg=f'{schedule} at {step}')


def test_cosine_restarts_equals_keras_away_from_restarts():
  settings = dict(initial_learning_rate=0.5, first_decay_steps=10, t_mul=2.0,
                  m_mul=0.7, alpha=0.05)
  keras = tf_keras.optimizers.schedules.CosineDecayRestarts(**settings)
  ours = modern.CosineDecayRestartsWithOffset(**settings)
  restarts = {10, 30, 70, 150, 310}
  steps = [s for s in range(400) if s not in restarts]
  np.testing.assert_allclose(ours(tf.constant(steps)), keras(tf.constant(steps)),
                             rtol=1e-5, atol=1e-7)
  # At a restart ours is at the new peak (exact period arithmetic).
  for period, step in enumerate(sorted(restarts), start=1):
    np.testing.assert_allclose(float(ours(step)),
                               0.5 * (0.95 * 0.7**period + 0.05), rtol=1e-6)


ONE_OF_EACH = {c[0]: c for c in reversed(CASES)}


@pytest.mark.parametrize('kind', sorted(ONE_OF_EACH))
def test_pure_function_of_any_step_type(kind):
  _, cls, reference, settings, _ = ONE_OF_EACH[kind]
  schedule = cls(offset=5, **settings)
  want = np.float32(reference(42 - 5, **settings))
  traced = tf.function(schedule)
  for step in (42, 42.0, np.int64(42), tf.constant(42), tf.constant(42, tf.int64),
               tf.constant(42.0), tf.Variable(42, dtype=tf.int64)):
    for fn in (schedule, traced):
      value = fn(step)
      assert value.dtype == tf.float32, (step, fn)
      np.testing.assert_allclose(value.numpy(), want, **TOLERANCE)
  grid = schedule(tf.reshape(tf.range(12, dtype=tf.int64), [3, 4]))
  assert grid.shape == (3, 4)
  # Integer hyperparameters still give float32.
  as_ints = {k: int(v) if isinstance(v, float) and v == int(v) else v
             for k, v in settings.items()}
  assert cls(**as_ints)(3).dtype == tf.float32


@pytest.mark.parametrize('kind', sorted(ONE_OF_EACH))
def test_keras_serialization_round_trip(kind):
  _, cls, _, settings, _ = ONE_OF_EACH[kind]
  schedule = cls(offset=3, name='mine', **settings)
  wrapped = lr_schedule.LinearWarmup(schedule, 10, 0.0)
  steps = tf.constant([0, 3, 9, 10, 11, 50, 99, 500], tf.int64)
  for original in (schedule, wrapped):
    text = json.dumps(tf_keras.optimizers.schedules.serialize(original))
    rebuilt = tf_keras.optimizers.schedules.deserialize(json.loads(text))
    again = type(original).from_config(original.get_config())
    for copy in (rebuilt, again):
      assert type(copy) is type(original)
      np.testing.assert_array_equal(copy(steps), original(steps))
  config = schedule.get_config()
  assert {k: config[k] for k in settings} == settings
  assert (config['offset'], config['name']) == (3, 'mine')


def _factory(kind, settings, warmup=None):
  params = {'optimizer': {'type': 'sgd'},
            'learning_rate': {'type': kind, kind: settings}}
  if warmup:
    params['warmup'] = {'type': 'linear', 'linear': warmup}
  return optimization.OptimizerFactory(optimization.OptimizationConfig(params))


@pytest.mark.parametrize('kind', sorted(ONE_OF_EACH))
def test_factory_builds_it_and_a_warmup_ends_on_it(kind):
  _, cls, reference, settings, _ = ONE_OF_EACH[kind]
  bare = _factory(kind, dict(settings, offset=8)).build_learning_rate()
  assert type(bare) is cls
  assert bare.name == getattr(optimization.LrConfig(), kind).name
  lr = _factory(kind, dict(settings, offset=8),
                {'warmup_steps': 8, 'warmup_learning_rate': 0.0}
                ).build_learning_rate()
  steps = list(range(0, 200, 1))
  got = lr(tf.constant(steps)).numpy()
  peak_at_warmup_end = reference(0, **settings)
  for s in steps:
    want = (peak_at_warmup_end * s / 8 if s < 8
            else reference(s - 8, **settings))
    np.testing.assert_allclose(got[s], want, err_msg=str(s), **TOLERANCE)


def test_default_config_values_are_the_constructor_defaults():
  for kind, cls in (('wsd', modern.StableDecayWithOffset),
                    ('cosine_restarts', modern.CosineDecayRestartsWithOffset),
                    ('inverse_sqrt', modern.InverseSqrtDecayWithOffset),
                    ('one_cycle', modern.OneCycleWithOffset),
                    ('linear', modern.LinearDecayWithOffset)):
    config = getattr(optimization.LrConfig(), kind).as_dict()
    fields = {f: getattr(cls, f) for f in config
              if f != 'name' and hasattr(cls, f)}
    missing = set(config) - set(fields) - {'name'}
    assert all(config[k] is None for k in missing), (kind, missing)
    assert {k: config[k] for k in fields} == fields, kind


@pytest.mark.parametrize('kind,settings,message', [
    ('wsd', {'initial_learning_rate': 1.0},
     "learning_rate.wsd.decay_steps: is required by the 'StableDecay' schedule"),
    ('wsd', {'initial_learning_rate': 1.0, 'decay_steps': 0},
     'learning_rate.wsd.decay_steps: must be > 0, got 0'),
    ('wsd', {'initial_learning_rate': 1.0, 'decay_steps': 10,
             'decay_fraction': 0.0},
     r'learning_rate.wsd.decay_fraction: must be in \(0.0, 1.0\], got 0.0'),
    ('wsd', {'initial_learning_rate': 1.0, 'decay_steps': 10,
             'decay_shape': 'sqrt'},
     "learning_rate.wsd.decay_shape: 'sqrt' is not allowed; did you mean "
     "'1-sqrt'\\? valid values: 1-sqrt, cosine, linear"),
    ('wsd', {'initial_learning_rate': -1.0, 'decay_steps': 10},
     'learning_rate.wsd.initial_learning_rate: must be >= 0.0, got -1.0'),
    ('cosine_restarts', {'initial_learning_rate': 1.0},
     'learning_rate.cosine_restarts.first_decay_steps: is required'),
    ('cosine_restarts', {'initial_learning_rate': 1.0, 'first_decay_steps': 5,
                         't_mul': 0.5},
     'learning_rate.cosine_restarts.t_mul: must be >= 1.0, got 0.5'),
    ('cosine_restarts', {'initial_learning_rate': 1.0, 'first_decay_steps': 5,
                         'alpha': 1.5},
     r'learning_rate.cosine_restarts.alpha: must be in \[0.0, 1.0\], got 1.5'),
    ('inverse_sqrt', {'initial_learning_rate': 1.0, 'warmup_steps': 0},
     'learning_rate.inverse_sqrt.warmup_steps: must be > 0, got 0'),
    ('one_cycle', {'decay_steps': 100},
     'learning_rate.one_cycle.max_learning_rate: is required'),
    ('one_cycle', {'max_learning_rate': 1.0, 'decay_steps': 100,
                   'anneal_strategy': 'cosine'},
     "learning_rate.one_cycle.anneal_strategy: 'cosine' is not allowed; did you "
     "mean 'cos'\\? valid values: cos, linear"),
    ('one_cycle', {'max_learning_rate': 1.0, 'decay_steps': 3},
     'learning_rate.one_cycle.pct_start: leaves no step to ramp up'),
    ('one_cycle', {'max_learning_rate': 1.0, 'decay_steps': 100,
                   'pct_start': 0.6, 'three_phase': True},
     'learning_rate.one_cycle.pct_start: leaves no step for the third phase'),
    ('one_cycle', {'max_learning_rate': 1.0, 'decay_steps': 100,
                   'div_factor': 0},
     'learning_rate.one_cycle.div_factor: must be > 0, got 0'),
    ('linear', {'initial_learning_rate': 1.0, 'decay_steps': -5},
     'learning_rate.linear.decay_steps: must be > 0, got -5'),
    ('linear', {'initial_learning_rate': 1.0, 'decay_steps': 5,
                'end_learning_rate': -0.1},
     'learning_rate.linear.end_learning_rate: must be >= 0.0, got -0.1'),
])
def test_config_mistakes_are_reported_with_their_key(kind, settings, message):
  with pytest.raises(ConfigError, match='^' + message):
    _factory(kind, settings)


@pytest.mark.parametrize('cls,kind,bad', [
    (modern.StableDecayWithOffset, 'wsd',
     dict(initial_learning_rate=1.0, decay_steps=10, decay_shape='sqrt')),
    (modern.CosineDecayRestartsWithOffset, 'cosine_restarts',
     dict(initial_learning_rate=1.0, first_decay_steps=5, m_mul=-1.0)),
    (modern.OneCycleWithOffset, 'one_cycle',
     dict(max_learning_rate=1.0, decay_steps=2)),
])
def test_schedule_and_config_share_one_rule(cls, kind, bad):
  with pytest.raises(ConfigError) as from_schedule:
    cls(**bad)
  with pytest.raises(ConfigError) as from_config:
    optimization.OptimizationConfig({'learning_rate': {'type': kind,
                                                       kind: bad}})
  assert str(from_config.value) == f'learning_rate.{kind}.{from_schedule.value}'


def test_yaml_selects_them_without_tensorflow():
  code = textwrap.dedent('''\
      import sys
      from official_like.modeling.optimization import OptimizationConfig
      for kind, settings in [
          ('wsd', {'initial_learning_rate': 1.0, 'decay_steps': 10,
                   'decay_shape': '1-sqrt'}),
          ('cosine_restarts', {'initial_learning_rate': 1.0,
                               'first_decay_steps': 10}),
          ('inverse_sqrt', {'initial_learning_rate': 1.0, 'warmup_steps': 10}),
          ('one_cycle', {'max_learning_rate': 1.0, 'decay_steps': 10}),
          ('linear', {'initial_learning_rate': 1.0, 'decay_steps': 10})]:
        config = OptimizationConfig({'optimizer': {'type': 'lion'},
                                     'learning_rate': {'type': kind,
                                                       kind: settings}})
        config.validate()
        assert OptimizationConfig(config.as_dict()) == config
      assert 'tensorflow' not in sys.modules, 'configs imported tensorflow'
      ''')
  subprocess.run([sys.executable, '-c', code], cwd=ROOT, check=True,
                 timeout=300)


@pytest.mark.parametrize('shape', ['linear', 'cosine', '1-sqrt'])
@pytest.mark.parametrize('decay_steps,fraction', [(600, 0.33), (12345, 0.33), (1000, 0.1),
                                                   (777, 0.2)])
def test_wsd_ends_at_exactly_zero(shape, decay_steps, fraction):
  """float32 rounding of the cooldown's span used to leave 6e-8 * peak at the end."""
  schedule = modern.StableDecayWithOffset(1.0, decay_steps, fraction, shape)
  assert float(schedule(decay_steps)) == 0.0
  assert float(schedule(decay_steps - 1)) > 0.0
