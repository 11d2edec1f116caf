"""The optimizer factory end to end, against TFM's factory as the reference.

Every test goes through the public path: a config dict -> `OptimizationConfig`
-> `OptimizerFactory` -> `build_learning_rate()` / `build_optimizer(lr)`. TFM's
factory is built from the SAME dict, trained from the same initial weights on
the same gradient sequence, and the final weights (and learning rates) must
agree.
"""
import copy
import dataclasses
import subprocess
import sys
import textwrap

import gin
import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from official.modeling import optimization as tfm_optimization
from official_like.modeling import optimization
from official_like.modeling.hyperparams import Config
from official_like.modeling.hyperparams import ConfigError
from official_like.modeling.optimization import adafactor
from official_like.modeling.optimization import ema_optimizer

STEPS = 12
SHAPES = {
    'dense/kernel': (4, 3),
    'dense/bias': (3,),
    'layer_norm/gamma': (3,),
}
_rng = np.random.default_rng(0)
INITIAL = {n: _rng.normal(size=s).astype(np.float32) for n, s in SHAPES.items()}
_rng = np.random.default_rng(1)
GRADIENTS = [{n: (2.0 * _rng.normal(size=s)).astype(np.float32)
              for n, s in SHAPES.items()} for _ in range(STEPS)]

# A schedule and a warmup that both act within the 12 steps.
SCHEDULE = {
    'learning_rate': {'type': 'cosine',
                      'cosine': {'initial_learning_rate': 0.05,
                                 'decay_steps': STEPS, 'alpha': 0.1}},
    'warmup': {'type': 'linear',
               'linear': {'warmup_steps': 3, 'warmup_learning_rate': 0.005}},
}
CLIPS = {
    'none': {},
    'clipnorm': {'clipnorm': 0.5},
    'clipvalue': {'clipvalue': 0.3},
    'global_clipnorm': {'global_clipnorm': 0.7},
}
# Non-default settings per type, chosen so the regex lists hit some of the
# variables above and miss others.
SETTINGS = {
    'sgd': {'momentum': 0.9, 'nesterov': True, 'decay': 0.01},
    'adam': {'beta_1': 0.8, 'beta_2': 0.99, 'amsgrad': True},
    'adamw': {'weight_decay_rate': 0.05, 'include_in_weight_decay': ['gamma'],
              'exclude_from_weight_decay': ['layer_norm', 'bias'],
              'gradient_clip_norm': 2.0},
    'lamb': {'weight_decay_rate': 0.02, 'exclude_from_weight_decay': ['bias'],
             'exclude_from_layer_adaptation': ['layer_norm']},
    'rmsprop': {'rho': 0.8, 'momentum': 0.5, 'centered': True},
    'lars': {'momentum': 0.8, 'eeta': 0.05, 'weight_decay_rate': 0.01,
             'exclude_from_weight_decay': ['bias'],
             'exclude_from_layer_adaptation': ['layer_norm']},
    'adagrad': {'initial_accumulator_value': 0.2, 'epsilon': 1e-6},
    'sgd_experimental': {'momentum': 0.9, 'nesterov': True},
    'adam_experimental': {'beta_1': 0.85, 'amsgrad': True},
    'adamw_experimental': {'weight_decay': 0.05, 'beta_2': 0.99},
    'adafactor_keras': {'beta_2_decay': -0.7, 'relative_step': False},
}
# Types whose class depends on use_legacy_optimizer; the others are shared.
SWITCHING = ('sgd', 'adam', 'rmsprop', 'adagrad')
CASES = ([(kind, True) for kind in SETTINGS] +
         [(kind, False) for kind in SWITCHING])
# Measured max |ours - TFM| over all weights, filled in by the parity tests.
MAX_DIFFERENCES = {}


def _params(kind, settings=None, schedule=SCHEDULE, **extra):
  settings = dict(SETTINGS[kind] if settings is None else settings)
  return {'optimizer': {'type': kind, kind: settings},
          **copy.deepcopy(schedule), **extra}


def _with_clip(kind, clip):
  settings = dict(SETTINGS[kind], **CLIPS[clip])
  if kind == 'adamw_experimental' and clip not in ('none', 'global_clipnorm'):
    settings['global_clipnorm'] = None  # its default is 1.0
  return settings


class _Model(tf.Module):

  def __init__(self, initial):
    super().__init__()
    self.weights = [tf.Variable(v, name=n) for n, v in initial.items()]


def _train(optimizer, model, gradients=GRADIENTS):
  for grads in gradients:
    optimizer.apply_gradients(
        zip([tf.constant(grads[n]) for n in SHAPES], model.weights))
  return _values(model)


def _values(model):
  return {n: v.numpy() for n, v in zip(SHAPES, model.weights)}


def _build(module, params, **kwargs):
  factory = module.OptimizerFactory(module.OptimizationConfig(params))
  return factory.build_optimizer(factory.build_learning_rate(), **kwargs)


def _run_pair(ours_params, tfm_params=None, **kwargs):
  """(our weights, TFM's weights) after STEPS steps from the same dict."""
  ours = _train(_build(optimization, ours_params, **kwargs), _Model(INITIAL))
  theirs = _train(_build(tfm_optimization, tfm_params or ours_params, **kwargs),
                  _Model(INITIAL))
  return ours, theirs


def _assert_same(ours, theirs, key=None, moved_from=INITIAL):
  for name in theirs:
    np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-5, atol=1e-7,
                               err_msg=name)
  # Guards against two runs that did nothing.
  assert all(not np.allclose(theirs[n], moved_from[n]) for n in theirs)
  if key is not None:
    diff = max(float(np.max(np.abs(ours[n] - theirs[n]))) for n in theirs)
    MAX_DIFFERENCES[key] = max(MAX_DIFFERENCES.get(key, 0.0), diff)


# 2. Training parity with TFM's factory.


@pytest.mark.parametrize('clip', list(CLIPS))
@pytest.mark.parametrize('kind,legacy', CASES)
def test_training_matches_tfm_factory(kind, legacy, clip):
  params = _params(kind, _with_clip(kind, clip))
  tfm_params = params
  if kind == 'sgd' and not legacy:
    # TFM refuses any config with a `decay` key for the new optimizers, so
    # `sgd` cannot be built there at all; ours builds keras' new SGD, which
    # is TFM's `sgd_experimental`.
    params['optimizer']['sgd']['decay'] = 0.0
    settings = {k: v for k, v in params['optimizer']['sgd'].items()
                if k != 'decay'}
    tfm_params = _params('sgd_experimental', settings)
  ours_opt = _build(optimization, params, use_legacy_optimizer=legacy)
  tfm_opt = _build(tfm_optimization, tfm_params, use_legacy_optimizer=legacy)
  assert type(ours_opt).__name__ == type(tfm_opt).__name__
  assert isinstance(ours_opt, tf_keras.optimizers.legacy.Optimizer) == (
      isinstance(tfm_opt, tf_keras.optimizers.legacy.Optimizer))
  ours = _train(ours_opt, _Model(INITIAL))
  theirs = _train(tfm_opt, _Model(INITIAL))
  _assert_same(ours, theirs, key=(kind, legacy))


@pytest.mark.parametrize('kind', [k for k in SETTINGS if k not in SWITCHING])
def test_shared_types_ignore_use_legacy_optimizer_like_tfm(kind):
  ours = _build(optimization, _params(kind), use_legacy_optimizer=False)
  theirs = _build(tfm_optimization, _params(kind), use_legacy_optimizer=False)
  assert type(ours).__name__ == type(theirs).__name__
  assert isinstance(ours, tf_keras.optimizers.legacy.Optimizer) == (
      isinstance(theirs, tf_keras.optimizers.legacy.Optimizer))
  assert type(ours) is type(_build(optimization, _params(kind)))


def test_clipping_options_change_the_result():
  """The clip cases above are not vacuous: each one alters the weights."""
  runs = {clip: _train(_build(optimization, _params('adam', _with_clip(
      'adam', clip))), _Model(INITIAL)) for clip in CLIPS}
  for clip in ('clipnorm', 'clipvalue', 'global_clipnorm'):
    diff = max(np.max(np.abs(runs[clip][n] - runs['none'][n])) for n in SHAPES)
    assert diff > 1e-3, clip


def test_sgd_new_optimizer_rejects_non_zero_decay_only():
  factory = optimization.OptimizerFactory(optimization.OptimizationConfig(
      _params('sgd')))
  with pytest.raises(ConfigError, match=r'^optimizer\.sgd\.decay: is not '
                     r'supported by the new Keras optimizers'):
    factory.build_optimizer(0.1, use_legacy_optimizer=False)
  params = _params('sgd', {'momentum': 0.9})
  assert isinstance(_build(optimization, params, use_legacy_optimizer=False),
                    tf_keras.optimizers.SGD)
  # TFM rejects the very same config because the key exists at all.
  with pytest.raises(ValueError, match='`decay` is deprecated'):
    _build(tfm_optimization, params, use_legacy_optimizer=False)


EMA_CASES = {
    'sgd': {'average_decay': 0.9, 'start_step': 2, 'dynamic_decay': True},
    'adam': {'average_decay': 0.8, 'start_step': 0, 'dynamic_decay': False},
    'adamw': {},
    'lamb': {'average_decay': 0.95, 'start_step': 5},
    'lars': {'average_decay': 0.7, 'dynamic_decay': False},
    'adam_experimental': {'average_decay': 0.9},  # a new-style inner optimizer
}


@pytest.mark.parametrize('kind', list(EMA_CASES))
def test_ema_matches_tfm_after_swap(kind):
  params = _params(kind, ema=EMA_CASES[kind])
  results = []
  # TFM's swap_weights() insists on a cross-replica context.
  strategy = tf.distribute.OneDeviceStrategy('/cpu:0')
  for module in (optimization, tfm_optimization):
    with strategy.scope():
      model = _Model(INITIAL)
      optimizer = _build(module, params)
      optimizer.shadow_copy(model)
    for grads in GRADIENTS:
      strategy.run(optimizer.apply_gradients, args=(
          zip([tf.constant(grads[n]) for n in SHAPES], model.weights),))
    trained = _values(model)
    with strategy.scope():
      optimizer.swap_weights()
      averaged = _values(model)
    results.append((type(optimizer).__name__, trained, averaged))
  (ours_name, ours_trained, ours_avg), (tfm_name, tfm_trained, tfm_avg) = results
  assert ours_name == tfm_name == 'ExponentialMovingAverage'
  _assert_same(ours_trained, tfm_trained, key=('ema', kind))
  _assert_same(ours_avg, tfm_avg, key=('ema', kind))
  # The swap really brought in different (averaged) weights.
  assert all(not np.allclose(ours_avg[n], ours_trained[n]) for n in SHAPES)


def test_ema_clip_options_are_applied_not_ignored():
  """A deliberate difference: TFM accepts `ema.clipnorm` and ignores it.

  Ours clips on the wrapper, which equals TFM clipping in the optimizer.
  """
  def train(module, params):
    optimizer, model = _build(module, params), _Model(INITIAL)
    optimizer.shadow_copy(model)
    return _train(optimizer, model)

  got = train(optimization, _params('sgd', ema={'clipnorm': 0.5}))
  clipped_inside = dict(SETTINGS['sgd'], clipnorm=0.5)
  _assert_same(got, train(tfm_optimization, _params('sgd', clipped_inside,
                                                    ema={})))
  ignored = train(tfm_optimization, _params('sgd', ema={'clipnorm': 0.5}))
  assert not np.allclose(ignored['dense/kernel'], got['dense/kernel'])


def test_ema_needs_the_legacy_optimizer():
  factory = optimization.OptimizerFactory(optimization.OptimizationConfig(
      _params('adam', ema={})))
  with pytest.raises(ConfigError, match=r'^ema: needs the legacy optimizer'):
    factory.build_optimizer(0.1, use_legacy_optimizer=False)


# 3. Adafactor (TFM's is a placeholder; ours trains).


def _quadratic_loss_after(params, steps=200):
  rng = np.random.default_rng(5)
  target = tf.constant(rng.normal(size=(16, 24)).astype(np.float32))
  weights = tf.Variable(rng.normal(size=(16, 24)).astype(np.float32),
                        name='dense/kernel')
  optimizer = _build(optimization, params)

  def loss():
    return tf.reduce_mean(tf.square(weights - target))

  @tf.function
  def train():
    for _ in tf.range(steps):
      with tf.GradientTape() as tape:
        value = loss()
      optimizer.apply_gradients([(tape.gradient(value, weights), weights)])

  initial = float(loss())
  train()
  return optimizer, weights.numpy(), float(loss()) / initial


ADAFACTOR_SCHEDULE = {'learning_rate': {'type': 'constant',
                                        'constant': {'learning_rate': 0.05}}}


def test_adafactor_builds_and_trains_a_quadratic_down():
  params = _params('adafactor', {'beta1': 0.9, 'min_dim_size_to_factor': 8},
                   ADAFACTOR_SCHEDULE)
  optimizer, _, ratio = _quadratic_loss_after(params)
  assert isinstance(optimizer, adafactor.Adafactor)
  assert optimizer.beta1 == 0.9 and optimizer.min_dim_size_to_factor == 8
  assert optimizer.get_slot_names() == ['vr', 'vc', 'm']
  assert optimizer.iterations.numpy() == 200
  assert ratio < 0.05


ADAFACTOR_CLIPS = {
    'clipnorm': (0.01, lambda gs: [tf.clip_by_norm(g, 0.01) for g in gs]),
    'clipvalue': (1e-3, lambda gs: [tf.clip_by_value(g, -1e-3, 1e-3)
                                    for g in gs]),
    'global_clipnorm': (0.01, lambda gs: tf.clip_by_global_norm(gs, 0.01)[0]),
}


@pytest.mark.parametrize('clip', list(ADAFACTOR_CLIPS))
def test_adafactor_honours_clip_options(clip):
  """Clipping via the config == clipping the gradients by hand; != unclipped."""
  value, clip_by_hand = ADAFACTOR_CLIPS[clip]
  rng = np.random.default_rng(6)
  start = {'dense/kernel': rng.normal(size=(16, 24)).astype(np.float32),
           'dense/bias': rng.normal(size=(24,)).astype(np.float32)}
  target = {n: tf.constant(rng.normal(size=v.shape).astype(np.float32))
            for n, v in start.items()}
  base = {'beta1': 0.9, 'min_dim_size_to_factor': 8}

  def train(settings, by_hand=None):
    optimizer = _build(optimization, _params('adafactor', settings,
                                             ADAFACTOR_SCHEDULE))
    weights = [tf.Variable(v, name=n) for n, v in start.items()]
    for _ in range(6):
      with tf.GradientTape() as tape:
        loss = sum(tf.reduce_sum(tf.square(w - target[n]))
                   for w, n in zip(weights, start))
      grads = tape.gradient(loss, weights)
      optimizer.apply_gradients(zip(by_hand(grads) if by_hand else grads,
                                    weights))
    return optimizer, [w.numpy() for w in weights]

  optimizer, clipped = train(dict(base, **{clip: value}))
  assert isinstance(optimizer, adafactor.Adafactor)
  assert getattr(optimizer, clip) == value
  _, expected = train(base, clip_by_hand)
  _, unclipped = train(base)
  for got, want in zip(clipped, expected):
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
  assert max(np.max(np.abs(c - u)) for c, u in zip(clipped, unclipped)) > 1e-3


# 4. Learning rates through the factory.

LR_CASES = {  # id -> (type, settings); a few types twice, in other modes.
    'constant': ('constant', {'learning_rate': 0.3}),
    'stepwise': ('stepwise', {'boundaries': [10, 20],
                              'values': [1.0, 0.5, 0.1], 'offset': 3}),
    'exponential': ('exponential', {'initial_learning_rate': 0.5,
                                    'decay_steps': 7, 'decay_rate': 0.5,
                                    'staircase': True, 'offset': 2}),
    'exponential_smooth': ('exponential', {'initial_learning_rate': 0.5,
                                           'decay_steps': 7,
                                           'decay_rate': 0.5}),
    'polynomial': ('polynomial', {'initial_learning_rate': 0.4,
                                  'decay_steps': 30, 'end_learning_rate': 0.01,
                                  'power': 2.0, 'offset': 2}),
    'polynomial_cycle': ('polynomial', {'initial_learning_rate': 0.4,
                                        'decay_steps': 15, 'cycle': True}),
    'cosine': ('cosine', {'initial_learning_rate': 0.4, 'decay_steps': 30,
                          'alpha': 0.1, 'offset': 4}),
    'power': ('power', {'initial_learning_rate': 0.5, 'power': -0.5}),
    'power_linear': ('power_linear', {'initial_learning_rate': 0.5,
                                      'total_decay_steps': 40, 'power': -0.5,
                                      'linear_decay_fraction': 0.25,
                                      'offset': 2}),
    'power_with_offset': ('power_with_offset', {
        'initial_learning_rate': 0.5, 'power': -0.5, 'offset': 10,
        'pre_offset_learning_rate': 3.0}),
    'step_cosine_with_offset': ('step_cosine_with_offset', {
        'boundaries': [0, 15, 30], 'values': [0.4, 0.2, 0.05], 'offset': 2}),
}
WARMUPS = {
    'none': None,
    'linear': {'type': 'linear',
               'linear': {'warmup_steps': 8, 'warmup_learning_rate': 0.01}},
    'linear_from_0': {'type': 'linear', 'linear': {'warmup_steps': 8}},
    'polynomial': {'type': 'polynomial',
                   'polynomial': {'warmup_steps': 8, 'power': 2.0}},
    'linear_0_steps': {'type': 'linear', 'linear': {'warmup_steps': 0}},
}
# 0, around the warmup end (8), the offsets, every boundary, far beyond.
LR_STEPS = sorted(set(
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
     20, 21, 22, 23, 24, 25, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
     41, 42, 43, 50, 60, 100, 1000, 12345, 10**6]))


@pytest.mark.parametrize('warmup', list(WARMUPS))
@pytest.mark.parametrize('case', list(LR_CASES))
def test_learning_rate_matches_tfm_factory(case, warmup):
  lr_type, settings = LR_CASES[case]
  params = {'optimizer': {'type': 'sgd'},
            'learning_rate': {'type': lr_type, lr_type: settings}}
  if WARMUPS[warmup] is not None:
    params['warmup'] = WARMUPS[warmup]
  factory = optimization.OptimizerFactory(optimization.OptimizationConfig(params))
  ours = factory.build_schedule()
  theirs = tfm_optimization.OptimizerFactory(
      tfm_optimization.OptimizationConfig(params)).build_learning_rate()
  assert isinstance(ours, tf_keras.optimizers.schedules.LearningRateSchedule)
  if lr_type == 'constant' and warmup == 'none':
    assert theirs == 0.3  # TFM hands back the bare float; so does build_learning_rate().
    assert factory.build_learning_rate() == 0.3
    assert isinstance(factory.build_learning_rate(), float)
    expected = np.full(len(LR_STEPS), theirs, np.float32)
  else:
    expected = np.array([float(theirs(tf.constant(s, tf.int64)))
                         for s in LR_STEPS], np.float32)
    np.testing.assert_array_equal(
        [float(factory.build_learning_rate()(tf.constant(s, tf.int64))) for s in LR_STEPS],
        expected)
  got = np.array([float(ours(tf.constant(s, tf.int64))) for s in LR_STEPS],
                 np.float32)
  np.testing.assert_array_equal(got, expected)
  assert np.isfinite(got[:LR_STEPS.index(30)]).all()
  # The warmup really shapes the start.
  if warmup not in ('none', 'linear_0_steps'):
    assert got[0] != got[LR_STEPS.index(8)]


@pytest.mark.parametrize('lr_type,settings', [
    ('cosine', {'initial_learning_rate': 1, 'decay_steps': 30}),
    ('polynomial', {'initial_learning_rate': 1, 'decay_steps': 30}),
    ('exponential', {'initial_learning_rate': 1, 'decay_steps': 7,
                     'decay_rate': 0.5}),
    ('stepwise', {'boundaries': [5], 'values': [1, 0]}),
])
def test_integer_valued_rates_work_and_equal_tfm_with_floats(lr_type, settings):
  """YAML `initial_learning_rate: 1` is an int; TFM's schedules then crash."""
  def lr(module, values):
    params = {'optimizer': {'type': 'sgd'},
              'learning_rate': {'type': lr_type, lr_type: values},
              'warmup': {'type': 'linear', 'linear': {'warmup_steps': 3}}}
    schedule = module.OptimizerFactory(
        module.OptimizationConfig(params)).build_learning_rate()
    return [float(schedule(tf.constant(s, tf.int64))) for s in (0, 1, 3, 10)]

  as_floats = dict(settings)
  if 'values' in settings:
    as_floats['values'] = [float(x) for x in settings['values']]
  else:
    as_floats['initial_learning_rate'] = 1.0
  assert lr(optimization, settings) == lr(tfm_optimization, as_floats)
  with pytest.raises((TypeError, tf.errors.InvalidArgumentError)):
    lr(tfm_optimization, settings)


def test_learning_rate_at_step_tensor_in_optimizer():
  """The optimizer sees the same rate as lr(iterations)."""
  params = _params('sgd', {})
  optimizer = _build(optimization, params)
  model = _Model(INITIAL)
  _train(optimizer, model, GRADIENTS[:5])
  lr = optimizer._decayed_lr(tf.float32)  # pylint: disable=protected-access
  expected = optimization.OptimizerFactory(optimization.OptimizationConfig(
      params)).build_learning_rate()(5)
  assert float(lr) == float(expected)


# 5. Extra build_optimizer arguments and gin.


def test_zero_gradient_transformer_leaves_weights_unchanged():
  calls = []

  def zero(grads_and_vars):
    calls.append(len(grads_and_vars))
    return [(g * 0.0, v) for g, v in grads_and_vars]

  optimizer = _build(optimization, _params('adam', {}),
                     gradient_transformers=[zero])
  got = _train(optimizer, _Model(INITIAL))
  assert calls == [3] * STEPS
  for name in SHAPES:
    np.testing.assert_array_equal(got[name], INITIAL[name])


def test_gradient_aggregator_is_called_and_used_like_tfm():
  calls = []

  def doubling(grads_and_vars):
    calls.append([v.name for _, v in grads_and_vars])
    return [(2.0 * g, v) for g, v in grads_and_vars]

  ours, theirs = _run_pair(_params('sgd', {'momentum': 0.5}),
                           gradient_aggregator=doubling)
  assert len(calls) == 2 * STEPS
  assert calls[0] == ['dense/kernel:0', 'dense/bias:0', 'layer_norm/gamma:0']
  _assert_same(ours, theirs)
  plain = _train(_build(optimization, _params('sgd', {'momentum': 0.5})),
                 _Model(INITIAL))
  assert not np.allclose(plain['dense/kernel'], ours['dense/kernel'])


@pytest.mark.parametrize('argument', ['gradient_aggregator',
                                      'gradient_transformers'])
def test_new_optimizers_reject_gradient_hooks_like_tfm(argument):
  hook = lambda gv: gv
  kwargs = {argument: hook if argument == 'gradient_aggregator' else [hook],
            'use_legacy_optimizer': False}
  for module in (optimization, tfm_optimization):
    with pytest.raises(ValueError, match=f'{argument} is deprecated in the '
                       'new TF-Keras optimizer'):
      _build(module, _params('adam', {}), **kwargs)


def test_postprocessor_result_is_returned():
  seen = []
  replacement = tf_keras.optimizers.legacy.Adagrad(0.1)

  def postprocess(optimizer):
    seen.append(optimizer)
    return replacement

  factory = optimization.OptimizerFactory(optimization.OptimizationConfig(
      _params('sgd', {'momentum': 0.9}, ema={'average_decay': 0.9})))
  assert factory.build_optimizer(0.1, postprocessor=postprocess) is replacement
  # It received the finished optimizer, EMA wrapper included.
  assert isinstance(seen[0], ema_optimizer.ExponentialMovingAverage)


def test_postprocessor_returning_a_non_optimizer_raises():
  factory = optimization.OptimizerFactory(optimization.OptimizationConfig(
      _params('sgd', {})))
  with pytest.raises(TypeError, match='postprocessor returned str, not a '
                     'tf_keras optimizer'):
    factory.build_optimizer(0.1, postprocessor=lambda _: 'not an optimizer')


def test_gin_binding_selects_the_new_optimizer():
  factory = optimization.OptimizerFactory(optimization.OptimizationConfig(
      _params('adam', {})))
  try:
    gin.parse_config('official_like.OptimizerFactory.build_optimizer.'
                     'use_legacy_optimizer = False')
    optimizer = factory.build_optimizer(0.1)
  finally:
    gin.clear_config()
  assert isinstance(optimizer, tf_keras.optimizers.Adam)
  assert not isinstance(optimizer, tf_keras.optimizers.legacy.Optimizer)
  assert isinstance(factory.build_optimizer(0.1),
                    tf_keras.optimizers.legacy.Adam)


# 6. Registration in one step.


@dataclasses.dataclass
class MySGDConfig(optimization.BaseOptimizerConfig):
  name: str = 'MySGD'
  momentum: float = 0.0


class MySGD(tf_keras.optimizers.legacy.SGD):
  pass


def _sgd_reference(momentum):
  return _train(tf_keras.optimizers.legacy.SGD(0.05, momentum=momentum),
                _Model(INITIAL))


CONSTANT = {'learning_rate': {'type': 'constant',
                              'constant': {'learning_rate': 0.05}}}


def test_register_optimizer_call_form():
  returned = optimization.register_optimizer('my_sgd_call', MySGDConfig, MySGD)
  assert returned is MySGD
  config = optimization.OptimizationConfig({
      'optimizer': {'type': 'my_sgd_call', 'my_sgd_call': {'momentum': 0.7}},
      **CONSTANT})
  assert config.as_dict()['optimizer'] == {
      'type': 'my_sgd_call',
      'my_sgd_call': {'clipnorm': None, 'clipvalue': None,
                      'global_clipnorm': None, 'name': 'MySGD',
                      'momentum': 0.7}}
  for legacy in (True, False):
    optimizer = _build(optimization, config.as_dict(),
                       use_legacy_optimizer=legacy)
    assert type(optimizer) is MySGD and optimizer.get_config()['name'] == 'MySGD'
  got = _train(optimizer, _Model(INITIAL))
  _assert_same(got, _sgd_reference(0.7))


def test_register_optimizer_decorator_form():

  @optimization.register_optimizer('my_sgd_decorated', MySGDConfig)
  class Decorated(tf_keras.optimizers.legacy.SGD):
    pass

  assert isinstance(Decorated, type)  # the decorator returns the class
  optimizer = _build(optimization, {
      'optimizer': {'type': 'my_sgd_decorated',
                    'my_sgd_decorated': {'momentum': 0.3, 'clipvalue': 0.2}},
      **CONSTANT})
  assert type(optimizer) is Decorated and optimizer.clipvalue == 0.2
  got = _train(optimizer, _Model(INITIAL))
  reference = _train(
      tf_keras.optimizers.legacy.SGD(0.05, momentum=0.3, clipvalue=0.2),
      _Model(INITIAL))
  _assert_same(got, reference)
  # The new choice is also a YAML-selectable config with checked keys.
  with pytest.raises(ConfigError, match=r"^optimizer\.my_sgd_decorated\."
                     r"momentun: unknown key; did you mean 'momentum'\?"):
    optimization.OptimizationConfig({'optimizer': {
        'type': 'my_sgd_decorated', 'my_sgd_decorated': {'momentun': 0.3}}})


@dataclasses.dataclass
class HalvingLrConfig(Config):
  name: str = 'Halving'
  initial_learning_rate: float = 1.0
  every: int = 10


class Halving(tf_keras.optimizers.schedules.LearningRateSchedule):

  def __init__(self, initial_learning_rate, every, name):
    self.initial_learning_rate, self.every, self.name = (
        initial_learning_rate, every, name)

  def __call__(self, step):
    exponent = tf.math.floordiv(tf.cast(step, tf.float32), self.every)
    return self.initial_learning_rate * tf.pow(0.5, exponent)

  def get_config(self):
    return {}


@dataclasses.dataclass
class StepUpWarmupConfig(Config):
  name: str = 'step_up'
  warmup_steps: int = 5
  fraction: float = 0.5


class StepUpWarmup(tf_keras.optimizers.schedules.LearningRateSchedule):
  """`fraction` of the schedule before warmup_steps, the schedule after."""

  def __init__(self, schedule, warmup_steps, fraction, name):
    self.schedule, self.warmup_steps, self.fraction, self.name = (
        schedule, warmup_steps, fraction, name)

  def __call__(self, step):
    value = self.schedule(step)
    return tf.where(step < self.warmup_steps, self.fraction * value, value)

  def get_config(self):
    return {}


def test_register_learning_rate_and_warmup():
  optimization.register_learning_rate('halving_test', HalvingLrConfig, Halving)

  @optimization.register_warmup('step_up_test', StepUpWarmupConfig)
  class _StepUp(StepUpWarmup):
    pass

  params = {'optimizer': {'type': 'sgd'},
            'learning_rate': {'type': 'halving_test',
                              'halving_test': {'initial_learning_rate': 0.8,
                                               'every': 4}}}
  lr = optimization.OptimizerFactory(
      optimization.OptimizationConfig(params)).build_learning_rate()
  assert isinstance(lr, Halving)
  np.testing.assert_allclose([float(lr(s)) for s in (0, 3, 4, 9, 12)],
                             [0.8, 0.8, 0.4, 0.2, 0.1], rtol=1e-7)
  params['warmup'] = {'type': 'step_up_test',
                      'step_up_test': {'warmup_steps': 5, 'fraction': 0.25}}
  lr = optimization.OptimizerFactory(
      optimization.OptimizationConfig(params)).build_learning_rate()
  assert isinstance(lr, _StepUp) and isinstance(lr.schedule, Halving)
  np.testing.assert_allclose([float(lr(s)) for s in (0, 4, 5, 8)],
                             [0.2, 0.1, 0.4, 0.2], rtol=1e-7)


def test_registering_a_taken_name_raises():
  with pytest.raises(ConfigError, match=(
      r"^optimizer: 'adam' is already registered \(to <class .*Adam'>\); pick another "
      r"name \(taken: .*\badam\b")):
    optimization.register_optimizer('adam', MySGDConfig, MySGD)
  with pytest.raises(ConfigError, match=(
      r"^learning_rate: 'cosine' is already registered \(to <class .*CosineDecayWithOffset'>\); "
      r"pick another name \(taken: constant, stepwise, exponential, polynomial, cosine, ")):
    optimization.register_learning_rate('cosine', HalvingLrConfig, Halving)
  with pytest.raises(ConfigError, match=(
      r"^warmup: 'linear' is already registered \(to .*\); pick another name \(taken: "
      r"linear, polynomial")):
    optimization.register_warmup('linear', StepUpWarmupConfig)(StepUpWarmup)
  optimization.register_optimizer('my_sgd_twice', MySGDConfig, MySGD)
  with pytest.raises(ConfigError, match="'my_sgd_twice' is already registered"):
    optimization.register_optimizer('my_sgd_twice', MySGDConfig, MySGD)
  # A failed registration leaves the built-ins untouched.
  assert isinstance(_build(optimization, _params('adam', {})),
                    tf_keras.optimizers.legacy.Adam)


def test_register_optimizer_with_a_config_without_clip_fields():
  """Any Config works; the clip fields of BaseOptimizerConfig are optional."""

  @dataclasses.dataclass
  class PlainSGDConfig(Config):
    momentum: float = 0.0

  optimization.register_optimizer('my_sgd_plain', PlainSGDConfig,
                                  tf_keras.optimizers.legacy.SGD)
  optimizer = _build(optimization, {
      'optimizer': {'type': 'my_sgd_plain', 'my_sgd_plain': {'momentum': 0.6}},
      **CONSTANT})
  _assert_same(_train(optimizer, _Model(INITIAL)), _sgd_reference(0.6))


def test_register_rejects_bad_names_and_config_classes():
  with pytest.raises(ConfigError, match="^optimizer: a type name must be an "
                     "identifier, got 'my-sgd'$"):
    optimization.register_optimizer('my-sgd', MySGDConfig, MySGD)
  # Names of OneOfConfig methods would shadow them (config.get() etc.).
  for name in ('get', 'lock', 'as_dict'):
    with pytest.raises(ConfigError, match=f"^optimizer: type name '{name}' is "
                       'reserved: it is an attribute of OptimizerConfig$'):
      optimization.register_optimizer(name, MySGDConfig, MySGD)
  with pytest.raises(ConfigError, match="^learning_rate: type name 'options' is "
                     'reserved: it is an attribute of LrConfig$'):
    optimization.register_learning_rate('options', HalvingLrConfig, Halving)

  @dataclasses.dataclass
  class NotAConfig:
    momentum: float = 0.0

  with pytest.raises(ConfigError, match="optimizer: type 'my_sgd_bad_config': "
                     "config class must subclass official_like Config"):
    optimization.register_optimizer('my_sgd_bad_config', NotAConfig, MySGD)
  with pytest.raises(ConfigError, match="unknown type 'my_sgd_bad_config'"):
    optimization.OptimizationConfig({'optimizer': {'type': 'my_sgd_bad_config'}})


# 6 (part). TFM's module-level names and YAML settings.


# The types official_like adds to TFM's tables (TFM's 'slide' is a placeholder
# we leave out).
_MODERN_OPTIMIZERS = {'nadam', 'adamax', 'lion', 'adan'}
OUR_EXTRA_TYPES = {
    'LEGACY_OPTIMIZERS_CLS': _MODERN_OPTIMIZERS,
    'NEW_OPTIMIZERS_CLS': _MODERN_OPTIMIZERS,
    'SHARED_OPTIMIZERS': {'nadam', 'adan'},  # one class whatever the flag
    # TFM's factory returns a float for 'constant'; ours builds a schedule.
    'LR_CLS': {'constant', 'wsd', 'cosine_restarts', 'inverse_sqrt',
               'one_cycle', 'linear'},
    'WARMUP_CLS': set(),
}


def test_tfm_module_level_names():
  from official_like.modeling.optimization import optimizer_factory  # pylint: disable=g-import-not-at-top
  from official.modeling.optimization import optimizer_factory as tfm_factory  # pylint: disable=g-import-not-at-top
  # Built-in types are declared config fields; the registration tests above
  # add more at run time, which this test ignores.
  declared = {f.name for cls in (optimization.OptimizerConfig,
                                 optimization.LrConfig,
                                 optimization.WarmupConfig)
              for f in dataclasses.fields(cls)}
  for table in ('LEGACY_OPTIMIZERS_CLS', 'NEW_OPTIMIZERS_CLS', 'LR_CLS',
                'WARMUP_CLS', 'SHARED_OPTIMIZERS'):
    ours, theirs = getattr(optimizer_factory, table), getattr(tfm_factory, table)
    assert set(ours) & declared == (
        set(theirs) - {'slide'}) | OUR_EXTRA_TYPES[table], table
  assert (optimizer_factory.LEGACY_OPTIMIZERS_CLS['lamb'].__name__ ==
          optimizer_factory.NEW_OPTIMIZERS_CLS['lamb'].__name__ == 'LAMB')
  assert optimization.register_optimizer_cls is (
      optimizer_factory.register_optimizer_cls)


def test_register_optimizer_cls_like_tfm():
  from official_like.modeling.optimization import optimizer_factory  # pylint: disable=g-import-not-at-top
  optimizer_factory.register_optimizer_cls('my_cls_only_new', MySGD,
                                           use_legacy_optimizer=False)
  assert optimizer_factory.NEW_OPTIMIZERS_CLS['my_cls_only_new'] is MySGD
  assert 'my_cls_only_new' not in optimizer_factory.LEGACY_OPTIMIZERS_CLS
  with pytest.raises(ValueError, match='my_cls_only_new already registered '
                     'in NEW_OPTIMIZERS_CLS'):
    optimizer_factory.register_optimizer_cls('my_cls_only_new', MySGD,
                                             use_legacy_optimizer=False)


def test_vit_include_pattern_string_trains_like_tfm_with_that_pattern():
  """TFM's ViT/DeiT setting, with the pattern given as one string.

  TFM reads a single string as a list of one-character patterns (its `.`
  then matches every name), so TFM is given the intended `[pattern]`.
  """
  pattern = r'.*(kernel|weight):0$'
  settings = {'weight_decay_rate': 0.3, 'gradient_clip_norm': 0.0}
  ours, theirs = _run_pair(
      _params('adamw', dict(settings, include_in_weight_decay=pattern)),
      _params('adamw', dict(settings, include_in_weight_decay=[pattern])))
  _assert_same(ours, theirs, key=('adamw', 'vit pattern'))
  plain = _train(_build(optimization, _params('adamw', dict(
      settings, weight_decay_rate=0.0))), _Model(INITIAL))
  # `include` only forces decay on; with no exclude list every name decays.
  assert all(not np.allclose(ours[n], plain[n]) for n in SHAPES)


def test_adamw_experimental_clipvalue_with_default_global_clipnorm(caplog):
  """Keras accepts the pair; its new AdamW applies only global_clipnorm."""
  params = _params('adamw_experimental', {'clipvalue': 0.01, 'weight_decay': 0.1})
  with caplog.at_level('WARNING'):
    ours_opt = _build(optimization, params)
  assert 'clipvalue=0.01 is ignored by the new Keras optimizers' in caplog.text
  assert (ours_opt.clipvalue, ours_opt.global_clipnorm) == (0.01, 1.0)
  ours = _train(ours_opt, _Model(INITIAL))
  theirs = _train(_build(tfm_optimization, params), _Model(INITIAL))
  _assert_same(ours, theirs, key=('adamw_experimental', 'clipvalue'))
  global_only = _run_pair(_params('adamw_experimental', {'weight_decay': 0.1}))[0]
  _assert_same(ours, global_only)


# 7 (part). No TFM import at run time.


def test_official_like_does_not_import_tfm():
  code = textwrap.dedent("""
      import sys
      import official_like.modeling.optimization as optimization
      factory = optimization.OptimizerFactory(optimization.OptimizationConfig({
          'optimizer': {'type': 'lamb', 'lamb': {'weight_decay_rate': 0.01}},
          'learning_rate': {'type': 'cosine', 'cosine': {
              'initial_learning_rate': 0.1, 'decay_steps': 100}},
          'warmup': {'type': 'linear', 'linear': {'warmup_steps': 10}},
          'ema': {'average_decay': 0.9}}))
      lr = factory.build_learning_rate()
      optimizer = factory.build_optimizer(lr)
      assert type(optimizer).__module__.startswith('official_like.'), optimizer
      print(float(lr(5)), float(lr(50)))
      bad = sorted(m for m in sys.modules
                   if m == 'official' or m.startswith('official.'))
      assert not bad, bad
      """)
  result = subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, timeout=120, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  lr5, lr50 = map(float, result.stdout.split())
  np.testing.assert_allclose(lr5, 0.1 * 5 / 10 * (1 + np.cos(np.pi * 10 / 100)) / 2,
                             rtol=1e-6)
  np.testing.assert_allclose(lr50, 0.05, rtol=1e-6)


# 8. The example of TFM's optimization page, verbatim.


def test_page_example_gives_tfm_learning_rates():
  from official_like.modeling import optimization  # pylint: disable=g-import-not-at-top,redefined-outer-name,reimported
  params = {'optimizer': { 'type': 'sgd', 'sgd': {'momentum': 0.9}}, 'learning_rate': {'type': 'stepwise', 'stepwise': { 'boundaries': [10000, 20000], 'values': [0.1, 0.01, 0.001]}}, 'warmup': {'type': 'linear', 'linear': {'warmup_steps': 500, 'warmup_learning_rate': 0.01}}}  # pylint: disable=line-too-long
  # Defines optimization config from a dictionary.
  opt_config = optimization.OptimizationConfig(params)
  # Initializes an optimization factory from optimization config.
  opt_factory = optimization.OptimizerFactory(opt_config)
  # Builds the desired learning rate scheduling instance.
  lr = opt_factory.build_learning_rate()
  # Builds the optimizer instance with the desired learning rate schedule.
  optimizer = opt_factory.build_optimizer(lr)

  assert isinstance(optimizer, tf_keras.optimizers.legacy.SGD)
  assert optimizer.get_config()['momentum'] == 0.9
  tfm_factory = tfm_optimization.OptimizerFactory(
      tfm_optimization.OptimizationConfig(params))
  tfm_lr = tfm_factory.build_learning_rate()
  steps = [0, 250, 500, 9999, 10000, 20000, 30000]
  got = [float(lr(tf.constant(s, tf.int64))) for s in steps]
  expected = [float(tfm_lr(tf.constant(s, tf.int64))) for s in steps]
  assert got == expected
  np.testing.assert_allclose(
      got, [0.01, 0.055, 0.1, 0.1, 0.1, 0.01, 0.001], rtol=1e-6)


def test_max_differences_are_float32_noise():
  """Prints the measured max |ours - TFM| per optimizer (see it with -s).

  Runs last: the parity tests above fill MAX_DIFFERENCES. Weights are O(1),
  so a few float32 ulps is at most ~1e-6.
  """
  if not MAX_DIFFERENCES:
    pytest.skip('no parity test ran in this session')
  for key, diff in sorted(MAX_DIFFERENCES.items(), key=str):
    print(f'max abs diff {key}: {diff:.3g}')
  assert max(MAX_DIFFERENCES.values()) <= 1e-6
