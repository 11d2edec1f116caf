"""Our optimizers against TFM's (the reference) and Adafactor against NumPy.

AdamWeightDecay, LAMB, LARS and the EMA wrapper must reproduce TFM's weights
from the same start and the same gradient sequence, with every Keras clipping
option, a decaying learning rate, eagerly, under tf.function and under
MirroredStrategy. TFM has no Adafactor, so it is checked against a NumPy
float64 transcription of the paper's algorithm (written with the paper's row
and column *sums*, not the means the optimizer uses).
"""
import re

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from official.modeling.optimization import ema_optimizer as tfm_ema
from official.modeling.optimization import lamb as tfm_lamb
from official.modeling.optimization import lars as tfm_lars
from official.modeling.optimization import legacy_adamw as tfm_adamw
from official_like.modeling.optimization import _names
from official_like.modeling.optimization import adafactor
from official_like.modeling.optimization import ema_optimizer
from official_like.modeling.optimization import lamb
from official_like.modeling.optimization import lars
from official_like.modeling.optimization import legacy_adamw

STEPS = 12
SHAPES = {
    'dense/kernel': (5, 3),
    'dense/bias': (3,),
    'layer_norm/gamma': (3,),
    'conv/kernel': (2, 2, 3, 4),
}
CLIPS = {
    'none': {},
    'clipnorm': {'clipnorm': 0.5},
    'clipvalue': {'clipvalue': 0.3},
    'global_clipnorm': {'global_clipnorm': 1.0},
}


def _initial(shapes, seed=0):
  rng = np.random.default_rng(seed)
  return {n: rng.normal(size=s).astype(np.float32) for n, s in shapes.items()}


def _gradients(shapes, steps=STEPS, seed=1, scale=2.0):
  rng = np.random.default_rng(seed)
  return [{n: (scale * rng.normal(size=s)).astype(np.float32)
           for n, s in shapes.items()} for _ in range(steps)]


INITIAL = _initial(SHAPES)
GRADIENTS = _gradients(SHAPES)


def _schedule(initial=0.01):
  return tf_keras.optimizers.schedules.PolynomialDecay(
      initial, decay_steps=STEPS, end_learning_rate=initial / 10, power=2.0)


def _train(make_optimizer, mode='eager', initial=INITIAL, gradients=GRADIENTS):
  """Trains fresh variables; returns their final values."""
  variables = [tf.Variable(v, name=n) for n, v in initial.items()]
  optimizer = make_optimizer()

  def step(grads):
    optimizer.apply_gradients(zip(grads, variables))

  if mode == 'function':
    step = tf.function(step)
  for grads in gradients:
    step([tf.constant(grads[n]) for n in initial])
  return {n: v.numpy() for n, v in zip(initial, variables)}


def _assert_same(ours, theirs, moved_from=INITIAL, atol=0.0):
  for name in theirs:
    np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-5, atol=atol,
                               err_msg=name)
  # Guards against comparing two runs that did nothing.
  assert any(not np.allclose(theirs[n], moved_from[n], rtol=1e-3)
             for n in moved_from)


ADAMW_SETTINGS = [
    dict(weight_decay_rate=0.05, include_in_weight_decay=['gamma'],
         exclude_from_weight_decay=['layer_norm', 'bias']),
    dict(weight_decay_rate=0.02, amsgrad=True, gradient_clip_norm=0.0,
         exclude_from_weight_decay=['bias'], beta_2=0.99),
]
LAMB_SETTINGS = [
    dict(weight_decay_rate=0.01, exclude_from_weight_decay=['layer_norm',
                                                            'bias']),
    dict(weight_decay_rate=0.02, exclude_from_weight_decay=['bias'],
         exclude_from_layer_adaptation=['gamma'], epsilon=1e-4),
]
LARS_SETTINGS = [
    dict(weight_decay_rate=0.01, exclude_from_weight_decay=['bias']),
    dict(weight_decay_rate=0.01, nesterov=True, classic_momentum=False,
         exclude_from_layer_adaptation=['gamma'], eeta=0.01),
    dict(nesterov=True, momentum=0.8, eeta=0.05,
         exclude_from_weight_decay=['layer_norm']),
]
PAIRS = {
    'adamw': (legacy_adamw.AdamWeightDecay, tfm_adamw.AdamWeightDecay,
              ADAMW_SETTINGS, 0.01),
    'lamb': (lamb.LAMB, tfm_lamb.LAMB, LAMB_SETTINGS, 0.01),
    'lars': (lars.LARS, tfm_lars.LARS, LARS_SETTINGS, 1.0),
}
CASES = [(kind, i) for kind, pair in PAIRS.items()
         for i in range(len(pair[2]))]


def _pair(kind, index, **extra):
  ours, theirs, settings, lr = PAIRS[kind]
  kwargs = dict(settings[index], learning_rate=_schedule(lr), **extra)
  return (lambda: ours(**kwargs)), (lambda: theirs(**kwargs))


@pytest.mark.parametrize('clip', list(CLIPS))
@pytest.mark.parametrize('kind,index', CASES)
def test_matches_tfm_eagerly(kind, index, clip):
  ours, theirs = _pair(kind, index, **CLIPS[clip])
  _assert_same(_train(ours), _train(theirs))


@pytest.mark.parametrize('kind', list(PAIRS))
def test_matches_tfm_in_tf_function(kind):
  ours, theirs = _pair(kind, 0, global_clipnorm=1.0)
  _assert_same(_train(ours, 'function'), _train(theirs, 'function'))


def test_constant_learning_rate_and_no_clipping_option():
  kwargs = dict(ADAMW_SETTINGS[0], learning_rate=3e-3, gradient_clip_norm=0)
  _assert_same(_train(lambda: legacy_adamw.AdamWeightDecay(**kwargs)),
               _train(lambda: tfm_adamw.AdamWeightDecay(**kwargs)))


@pytest.mark.parametrize('kind', ['adamw', 'lamb'])
def test_sparse_gradients_match_tfm(kind):
  def train(make_optimizer):
    table = tf.Variable(INITIAL['dense/kernel'], name='embedding/table')
    optimizer = make_optimizer()
    for step, grads in enumerate(GRADIENTS):
      rows = tf.constant([step % 5, 1, step % 5])
      optimizer.apply_gradients([(tf.IndexedSlices(
          tf.constant(grads['dense/kernel'][:3]), rows, tf.constant([5, 3])),
                                  table)])
    return {'embedding/table': table.numpy()}

  ours, theirs = _pair(kind, 0)
  _assert_same(train(ours), train(theirs),
               moved_from={'embedding/table': INITIAL['dense/kernel']})


def test_weight_decay_really_applies():
  """The regexes matter: with decay only on `gamma`, only gamma differs."""
  plain = _train(lambda: legacy_adamw.AdamWeightDecay(learning_rate=0.01))
  decayed = _train(lambda: legacy_adamw.AdamWeightDecay(
      learning_rate=0.01, weight_decay_rate=0.5,
      exclude_from_weight_decay=['kernel', 'bias']))
  for name in SHAPES:
    same = np.allclose(plain[name], decayed[name], rtol=1e-6)
    assert same == (name != 'layer_norm/gamma'), name


NAMES = ['dense/kernel:0', 'dense/bias:0', 'layer_norm/gamma:0',
         'encoder/LayerNorm/beta:0', 'embeddings/weight:0', 'head/kernel:1']
PATTERNS = [r'.*(kernel|weight):0$', 'kernel:0$', 'bias$', 'bias', 'kernel',
            '^dense/', 'LayerNorm|layer_norm', 'gamma:0', ':0$', r'/\w+$']


def _replica_copy(name):
  """How MirroredStrategy names the second replica's copy of `name`."""
  base, index = name.rsplit(':', 1)
  return f'{base}/replica_1:{index}'


def _decisions(pairs):
  """[(ours, theirs)] of booleans -> both lists, for one assert message."""
  return [o for o, _ in pairs], [t for _, t in pairs]


@pytest.mark.parametrize('pattern', PATTERNS)
def test_name_patterns_select_what_they_select_in_tfm(pattern):
  """Per optimizer, the same name form as TFM; a str is one pattern.

  TFM treats a single string as a list of one-character patterns, so each
  string here is compared with TFM given `[pattern]`.
  """
  adamw = [(legacy_adamw.AdamWeightDecay(weight_decay_rate=0.1, **{key: p}),
            tfm_adamw.AdamWeightDecay(weight_decay_rate=0.1, **{key: [pattern]}))
           for key in ('include_in_weight_decay', 'exclude_from_weight_decay')
           for p in (pattern, [pattern])]
  lamb_pairs = [(lamb.LAMB(exclude_from_weight_decay=p),
                 tfm_lamb.LAMB(exclude_from_weight_decay=[pattern]))
                for p in (pattern, [pattern])]
  lars_pairs = [(lars.LARS(weight_decay_rate=0.1, exclude_from_weight_decay=p),
                 tfm_lars.LARS(weight_decay_rate=0.1,
                               exclude_from_weight_decay=[pattern]))
                for p in (pattern, [pattern])]
  for name in NAMES:
    checks = [(o._do_use_weight_decay(name), t._do_use_weight_decay(name))
              for o, t in adamw]
    for o, t in lamb_pairs:
      tfm_name = t._get_variable_name(name)
      checks += [(o._do_use_weight_decay(name), t._do_use_weight_decay(tfm_name)),
                 (o._do_layer_adaptation(name), t._do_layer_adaptation(tfm_name))]
    for o, t in lars_pairs:
      checks += [(o._use_weight_decay(name), t._use_weight_decay(name)),
                 (o._do_layer_adaptation(name), t._do_layer_adaptation(name))]
    ours, theirs = _decisions(checks)
    assert ours == theirs, name
    copy = _replica_copy(name)
    replica = [o._do_use_weight_decay(copy) for o, _ in adamw + lamb_pairs]
    replica += [o._use_weight_decay(copy) for o, _ in lars_pairs]
    primary = [o._do_use_weight_decay(name) for o, _ in adamw + lamb_pairs]
    primary += [o._use_weight_decay(name) for o, _ in lars_pairs]
    assert replica == primary, copy


def test_tfm_vit_pattern_decays_kernels_only():
  """The ViT/DeiT setting, `include_in_weight_decay: '.*(kernel|weight):0$'`."""
  optimizer = legacy_adamw.AdamWeightDecay(
      weight_decay_rate=0.05, include_in_weight_decay=r'.*(kernel|weight):0$',
      exclude_from_weight_decay=['.*'])
  decayed = {v.name: optimizer._do_use_weight_decay(v.name) for v in [
      tf.Variable(1.0, name=n) for n in ('dense/kernel', 'dense/bias',
                                         'emb/weight', 'ln/gamma')]}
  assert decayed == {'dense/kernel:0': True, 'dense/bias:0': False,
                     'emb/weight:0': True, 'ln/gamma:0': False}


def test_canonical_names():
  assert _names.canonical_name('a/bias/replica_1:0') == 'a/bias:0'
  assert _names.canonical_name('a/replica_12/bias:0') == 'a/replica_12/bias:0'
  assert _names.lamb_name('a/bias/replica_3:0') == 'a/bias'
  assert _names.lamb_name('var0') == 'var0'
  assert _names.patterns('bias$') == ('bias$',)
  assert not _names.matches_any('a/bias:0', None)


def _per_replica_gradients(strategy):
  halves = [GRADIENTS, _gradients(SHAPES, seed=7, scale=0.5)]

  def value_fn(step):
    return lambda ctx: [tf.constant(halves[ctx.replica_id_in_sync_group][
        step][n]) for n in SHAPES]

  return [strategy.experimental_distribute_values_from_function(value_fn(s))
          for s in range(STEPS)]


def _train_mirrored(strategy, make_optimizer, wrap_model=None):
  with strategy.scope():
    variables = [tf.Variable(v, name=n) for n, v in INITIAL.items()]
    optimizer = make_optimizer()
    if wrap_model:
      wrap_model(optimizer, variables)

  @tf.function
  def step(grads):
    strategy.run(
        lambda g: optimizer.apply_gradients(zip(g, variables)), args=(grads,))

  for grads in _per_replica_gradients(strategy):
    step(grads)
  for var in variables:
    np.testing.assert_array_equal(var.values[0].numpy(), var.values[1].numpy())
  return optimizer, variables


@pytest.fixture
def strategy(two_cpu_strategy):
  return two_cpu_strategy


@pytest.mark.parametrize('kind', ['adamw', 'lamb', 'lars'])
def test_matches_tfm_under_mirrored_strategy(strategy, kind):
  ours, theirs = _pair(kind, 0, clipnorm=0.5)
  values = [{n: v.numpy() for n, v in zip(SHAPES, _train_mirrored(
      strategy, make)[1])} for make in (ours, theirs)]
  _assert_same(*values)


def test_anchored_patterns_keep_mirrored_copies_in_sync(strategy):
  """Copies are named `.../replica_1:0`; a pattern decides as for the first.

  (TFM matches the copy's own name, so `'kernel:0$'` decays only the first
  copy of a kernel, and the copies drift apart.)
  """
  for make in (
      lambda: lamb.LAMB(learning_rate=0.01, weight_decay_rate=0.1,
                        exclude_from_weight_decay=['bias$', 'gamma$']),
      lambda: lars.LARS(learning_rate=0.01, weight_decay_rate=0.1,
                        exclude_from_weight_decay=['bias:0$', 'gamma:0$']),
      lambda: legacy_adamw.AdamWeightDecay(
          learning_rate=0.01, weight_decay_rate=0.1,
          include_in_weight_decay=r'.*(kernel|weight):0$',
          exclude_from_weight_decay='.*'),
      lambda: adafactor.Adafactor(
          0.01, weight_decay=0.1, include_in_weight_decay='kernel:0$',
          beta1=0.9, min_dim_size_to_factor=3)):
    _train_mirrored(strategy, make)


# ---------------------------------------------------------------- EMA ----


def _module(variables):
  module = tf.Module()
  module.weights = variables
  return module


def _train_ema(ema_cls, make_inner, ema_kwargs, frozen_stat=False):
  """Returns (optimizer, variables) after STEPS steps.

  With `frozen_stat`, a non-trainable variable changes outside the optimizer
  each step, like batch-norm statistics.
  """
  variables = [tf.Variable(v, name=n) for n, v in INITIAL.items()]
  stat = tf.Variable(tf.ones([3]), trainable=False, name='bn/moving_mean')
  optimizer = ema_cls(make_inner(), **ema_kwargs)
  optimizer.shadow_copy(_module(variables + [stat]))
  for i, grads in enumerate(GRADIENTS):
    optimizer.apply_gradients(
        zip([tf.constant(grads[n]) for n in SHAPES], variables))
    if frozen_stat:
      stat.assign_add(tf.fill([3], float(i)))
  return optimizer, variables + [stat]


def _averages(optimizer, variables):
  return {v.name: optimizer.get_slot(v, 'average').numpy()
          for v in variables if v.trainable or not
          optimizer._trainable_weights_only}  # pylint: disable=protected-access


INNERS = {
    'sgd': lambda: tf_keras.optimizers.legacy.SGD(_schedule(0.1),
                                                  momentum=0.9),
    'adam': lambda: tf_keras.optimizers.legacy.Adam(_schedule(0.05),
                                                    clipnorm=0.5),
}
EMA_SETTINGS = [
    {},
    dict(average_decay=0.9, start_step=4, dynamic_decay=False),
    dict(average_decay=0.95, start_step=3, trainable_weights_only=False),
]


@pytest.mark.parametrize('settings', range(len(EMA_SETTINGS)))
@pytest.mark.parametrize('inner', list(INNERS))
def test_ema_matches_tfm(inner, settings):
  kwargs = EMA_SETTINGS[settings]
  ours = _train_ema(ema_optimizer.ExponentialMovingAverage, INNERS[inner],
                    kwargs, frozen_stat=True)
  theirs = _train_ema(tfm_ema.ExponentialMovingAverage, INNERS[inner],
                      kwargs, frozen_stat=True)
  ours_avg, theirs_avg = _averages(*ours), _averages(*theirs)
  assert len(ours_avg) == (5 if 'trainable_weights_only' in kwargs else 4)
  _assert_same(ours_avg, theirs_avg,
               moved_from={n: np.zeros_like(a) for n, a in theirs_avg.items()})
  for a, b in zip(*[v for _, v in (ours, theirs)]):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5)
  assert ours[0].iterations.numpy() == STEPS


def _halve(grads_and_vars):
  return [(0.5 * g, v) for g, v in grads_and_vars]


@pytest.mark.parametrize('processing', [dict(global_clipnorm=1.0),
                                        dict(gradient_transformers=[_halve])])
def test_ema_gradient_processing_on_the_wrapper_acts_like_on_the_inner(
    processing):
  sgd = lambda **kw: tf_keras.optimizers.legacy.SGD(_schedule(0.1), **kw)
  on_wrapper = _train_ema(ema_optimizer.ExponentialMovingAverage, sgd,
                          processing)
  on_inner = _train_ema(tfm_ema.ExponentialMovingAverage,
                        lambda: sgd(**processing), {})
  unclipped = _train_ema(ema_optimizer.ExponentialMovingAverage, sgd, {})
  _assert_same(_averages(*on_wrapper), _averages(*on_inner),
               moved_from=_averages(*unclipped))


def test_ema_in_tf_function_and_learning_rate_delegation():
  inner = tf_keras.optimizers.legacy.SGD(0.1)
  optimizer = ema_optimizer.ExponentialMovingAverage(inner)
  assert optimizer.learning_rate.numpy() == pytest.approx(0.1)
  optimizer.learning_rate = 0.2
  optimizer.lr = 0.25
  assert inner.learning_rate.numpy() == pytest.approx(0.25)

  var = tf.Variable([1.0, 2.0])
  optimizer.shadow_copy(_module([var]))

  @tf.function
  def step():
    optimizer.apply_gradients([(tf.constant([1.0, 1.0]), var)])

  step()
  step()
  # Averages start at 0; decays are 2/11 then 3/12.
  w1, w2 = np.array([0.75, 1.75]), np.array([0.5, 1.5])
  expected = (3 / 12) * ((1 - 2 / 11) * w1) + (1 - 3 / 12) * w2
  np.testing.assert_allclose(optimizer.get_slot(var, 'average'), expected,
                             rtol=1e-6)
  assert optimizer.iterations is inner.iterations


def _exact(variables):
  return [v.numpy().copy() for v in variables]


def test_ema_swap_weights_is_exact_and_reversible():
  optimizer, variables = _train_ema(ema_optimizer.ExponentialMovingAverage,
                                    INNERS['adam'], {})
  trainable = variables[:-1]
  weights = _exact(trainable)
  averages = _exact(optimizer.get_slot(v, 'average') for v in trainable)
  assert not np.allclose(weights[0], averages[0])

  optimizer.swap_weights()
  for var, w, a in zip(trainable, weights, averages):
    np.testing.assert_array_equal(var.numpy(), a)
    np.testing.assert_array_equal(optimizer.get_slot(var, 'average'), w)
  optimizer.swap_weights()
  for var, w, a in zip(trainable, weights, averages):
    np.testing.assert_array_equal(var.numpy(), w)
    np.testing.assert_array_equal(optimizer.get_slot(var, 'average'), a)

  optimizer.assign_average_vars(variables)
  for var, a in zip(trainable, averages):
    np.testing.assert_array_equal(var.numpy(), a)


def test_ema_under_mirrored_strategy_matches_tfm_and_swaps(strategy):
  def run(ema_cls):
    return _train_mirrored(
        strategy,
        lambda: ema_cls(tf_keras.optimizers.legacy.SGD(_schedule(0.1),
                                                       momentum=0.9)),
        wrap_model=lambda opt, variables: opt.shadow_copy(_module(variables)))

  ours, theirs = run(ema_optimizer.ExponentialMovingAverage), run(
      tfm_ema.ExponentialMovingAverage)
  ours_avg, theirs_avg = _averages(*ours), _averages(*theirs)
  _assert_same(ours_avg, theirs_avg,
               moved_from={n: np.zeros_like(a) for n, a in theirs_avg.items()})

  optimizer, variables = ours
  weights = _exact(variables)
  with strategy.scope():
    optimizer.swap_weights()
  for var, weight in zip(variables, weights):
    average = optimizer.get_slot(var, 'average')
    for replica in range(2):
      np.testing.assert_array_equal(var.values[replica].numpy(),
                                    ours_avg[var.name])
      np.testing.assert_array_equal(average.values[replica].numpy(), weight)
  with strategy.scope():
    optimizer.swap_weights()
  for var, w in zip(variables, weights):
    np.testing.assert_array_equal(var.values[1].numpy(), w)


@pytest.mark.parametrize('source', ['ours', 'tfm'])
def test_ema_checkpoint_round_trip(tmp_path, source):
  ema_cls = {'ours': ema_optimizer.ExponentialMovingAverage,
             'tfm': tfm_ema.ExponentialMovingAverage}[source]
  optimizer, variables = _train_ema(ema_cls, INNERS['sgd'], {})
  trainable = variables[:-1]
  saved = tf.train.Checkpoint(model=_module(trainable),
                              optimizer=optimizer).save(str(tmp_path / 'ck'))
  averages = _exact(optimizer.get_slot(v, 'average') for v in trainable)

  for create_averages_first in (True, False):
    fresh = [tf.Variable(tf.zeros_like(v), name=v.name[:-2])
             for v in trainable]
    restored = ema_optimizer.ExponentialMovingAverage(
        tf_keras.optimizers.legacy.SGD(_schedule(0.1), momentum=0.9))
    model = _module(fresh)
    if create_averages_first:
      restored.shadow_copy(model)
    tf.train.Checkpoint(model=model, optimizer=restored).restore(
        saved).assert_existing_objects_matched()
    if not create_averages_first:
      restored.shadow_copy(model)
    for var, average, original in zip(fresh, averages, trainable):
      np.testing.assert_array_equal(restored.get_slot(var, 'average'),
                                    average)
      np.testing.assert_array_equal(var.numpy(), original.numpy())
    assert restored.iterations.numpy() == STEPS


def test_ema_optimizer_weights_round_trip():
  """get_weights()/set_weights(), as Keras' HDF5 saving uses them."""
  optimizer, variables = _train_ema(ema_optimizer.ExponentialMovingAverage,
                                    INNERS['adam'], {})
  saved = optimizer.get_weights()
  assert len(saved) == 1 + 2 * 4 + 4  # iterations, Adam's m and v, averages

  restored = ema_optimizer.ExponentialMovingAverage(INNERS['adam']())
  fresh = [tf.Variable(tf.zeros_like(v), name=v.name[:-2],
                       trainable=v.trainable) for v in variables]
  restored.shadow_copy(_module(fresh))
  restored._create_all_weights(fresh[:-1])  # pylint: disable=protected-access
  restored.set_weights(saved)
  for a, b in zip(restored.get_weights(), saved):
    np.testing.assert_array_equal(a, b)
  assert restored.iterations.numpy() == STEPS


def test_ema_config_round_trip():
  optimizer = ema_optimizer.ExponentialMovingAverage(
      lamb.LAMB(0.01, weight_decay_rate=0.1), average_decay=0.9,
      start_step=5, dynamic_decay=False, trainable_weights_only=False)
  clone = ema_optimizer.ExponentialMovingAverage.from_config(
      optimizer.get_config())
  assert clone.get_config() == optimizer.get_config()
  assert isinstance(clone._optimizer, lamb.LAMB)  # pylint: disable=protected-access


# ---------------------------------------------------------- Adafactor ----

ADAFACTOR_SHAPES = {
    'big/kernel': (128, 136),     # factored
    'small/kernel': (6, 5),       # too small to factor
    'wide/kernel': (4, 200),      # only one dimension is large enough
    'bias': (7,),
    'conv/kernel': (2, 130, 128),  # factored over the last two axes
}


def _rms(x):
  return np.sqrt(np.mean(np.square(x)))


def _adafactor_reference(initial, gradients, learning_rate, factored=True,
                         multiply_by_parameter_scale=True, beta1=None,
                         decay_rate=0.8, step_offset=0, clipping_threshold=1.0,
                         min_dim_size_to_factor=128, epsilon1=1e-30,
                         epsilon2=1e-3, weight_decay=None,
                         include_in_weight_decay=None):
  """Shazeer & Stern 2018, Algorithms 4/5, in float64 with row/column sums."""
  x = {n: v.astype(np.float64) for n, v in initial.items()}
  state = {n: {} for n in x}
  for iteration, grads in enumerate(gradients):
    t = max(iteration - step_offset, 0) + 1
    rho = learning_rate(iteration)
    beta2 = 1.0 - t ** -decay_rate
    for name, w in x.items():
      g = grads[name].astype(np.float64)
      g2 = g * g + epsilon1
      s = state[name]
      if (factored and w.ndim >= 2 and
          min(w.shape[-2:]) >= min_dim_size_to_factor):
        s['r'] = beta2 * s.get('r', 0.0) + (1 - beta2) * g2.sum(-1)
        s['c'] = beta2 * s.get('c', 0.0) + (1 - beta2) * g2.sum(-2)
        v = (s['r'][..., :, None] * s['c'][..., None, :] /
             s['r'].sum(-1)[..., None, None])
      else:
        s['v'] = v = beta2 * s.get('v', 0.0) + (1 - beta2) * g2
      u = g / np.sqrt(v)
      if clipping_threshold is not None:
        u = u / max(1.0, _rms(u) / clipping_threshold)
      alpha = rho * max(epsilon2, _rms(w)) if multiply_by_parameter_scale \
          else rho
      step = alpha * u
      if beta1:
        s['m'] = step = beta1 * s.get('m', 0.0) + (1 - beta1) * step
      if weight_decay and (include_in_weight_decay is None or
                           re.search(include_in_weight_decay, name)):
        step = step + rho * weight_decay * w
      x[name] = w - step
  return x


# float32 against a float64 reference: weights of order 1 carry ~1e-7
# absolute rounding, which is a large relative error for the few weights that
# end up near zero.
FLOAT32_ULP = 1e-7
ADAFACTOR_INITIAL = _initial(ADAFACTOR_SHAPES, seed=3)
ADAFACTOR_INITIAL['bias'][:] = 0.0  # exercises the epsilon2 floor
ADAFACTOR_GRADIENTS = _gradients(ADAFACTOR_SHAPES, steps=15, seed=4)
ADAFACTOR_SETTINGS = [
    {},
    dict(beta1=0.9, weight_decay=0.1, include_in_weight_decay='kernel',
         clipping_threshold=0.5, step_offset=3, decay_rate=0.6),
    dict(factored=False, multiply_by_parameter_scale=False,
         clipping_threshold=None, beta1=0.5, weight_decay=0.05),
    dict(min_dim_size_to_factor=5, epsilon2=0.1, epsilon1=1e-3),
]


@pytest.mark.parametrize('lr', ['schedule', 'relative_step'])
@pytest.mark.parametrize('settings', range(len(ADAFACTOR_SETTINGS)))
def test_adafactor_matches_numpy_reference(settings, lr):
  kwargs = ADAFACTOR_SETTINGS[settings]
  if lr == 'schedule':
    learning_rate = _schedule(0.05)
    reference_lr = lambda step: float(learning_rate(step))
  else:
    learning_rate = None
    offset = kwargs.get('step_offset', 0)
    reference_lr = lambda step: min(1e-2, (max(step - offset, 0) + 1) ** -0.5)
  ours = _train(lambda: adafactor.Adafactor(learning_rate, **kwargs),
                'function', ADAFACTOR_INITIAL, ADAFACTOR_GRADIENTS)
  expected = _adafactor_reference(ADAFACTOR_INITIAL, ADAFACTOR_GRADIENTS,
                                  reference_lr, **kwargs)
  _assert_same(ours, expected, moved_from=ADAFACTOR_INITIAL,
               atol=FLOAT32_ULP)


def test_adafactor_factors_only_large_trailing_dimensions():
  optimizer = adafactor.Adafactor(0.01)
  variables = [tf.Variable(ADAFACTOR_INITIAL[n], name=n)
               for n in ADAFACTOR_SHAPES]
  optimizer.apply_gradients(zip(
      [ADAFACTOR_GRADIENTS[0][n] for n in ADAFACTOR_SHAPES], variables))

  def slot_shapes(var):
    shapes = {}
    for slot in optimizer.get_slot_names():
      try:
        shapes[slot] = tuple(optimizer.get_slot(var, slot).shape)
      except KeyError:
        pass
    return shapes

  slots = {v.name[:-2]: slot_shapes(v) for v in variables}
  assert slots == {'big/kernel': {'vr': (128,), 'vc': (136,)},
                   'small/kernel': {'v': (6, 5)},
                   'wide/kernel': {'v': (4, 200)}, 'bias': {'v': (7,)},
                   'conv/kernel': {'vr': (2, 130), 'vc': (2, 128)}}


@pytest.mark.parametrize('clip', ['clipnorm', 'clipvalue', 'global_clipnorm'])
def test_adafactor_honours_keras_clipping(clip):
  """Clipping first, then the reference update on the clipped gradients."""
  shapes = {'small/kernel': (6, 5), 'bias': (7,)}
  initial = {n: ADAFACTOR_INITIAL[n] for n in shapes}
  gradients = [{n: g[n] for n in shapes} for g in ADAFACTOR_GRADIENTS]
  clipped = []
  for grads in gradients:
    names = list(shapes)
    tensors = [tf.constant(grads[n]) for n in names]
    if clip == 'clipnorm':
      tensors = [tf.clip_by_norm(t, 0.5) for t in tensors]
    elif clip == 'clipvalue':
      tensors = [tf.clip_by_value(t, -0.3, 0.3) for t in tensors]
    else:
      tensors, _ = tf.clip_by_global_norm(tensors, 1.0)
    clipped.append({n: t.numpy() for n, t in zip(names, tensors)})
  kwargs = dict(CLIPS[clip], beta1=0.9)
  ours = _train(lambda: adafactor.Adafactor(0.05, **kwargs), 'eager',
                initial, gradients)
  expected = _adafactor_reference(initial, clipped, lambda _: 0.05, beta1=0.9)
  _assert_same(ours, expected, moved_from=initial, atol=FLOAT32_ULP)


def test_adafactor_sparse_gradient_equals_its_dense_form():
  def train(sparse):
    table = tf.Variable(ADAFACTOR_INITIAL['small/kernel'])
    optimizer = adafactor.Adafactor(0.05, beta1=0.9)
    for grads in ADAFACTOR_GRADIENTS:
      rows = grads['small/kernel'][[4, 1]]
      if sparse:
        grad = tf.IndexedSlices(tf.constant(rows), tf.constant([4, 1]),
                                tf.constant([6, 5]))
      else:
        grad = np.zeros((6, 5), np.float32)
        grad[[4, 1]] = rows
      optimizer.apply_gradients([(grad, table)])
    return table.numpy()

  np.testing.assert_allclose(train(True), train(False), rtol=1e-6)


def test_adafactor_minimises_a_quadratic():
  rng = np.random.default_rng(5)
  target = tf.constant(rng.normal(size=(16, 24)).astype(np.float32))
  weights = tf.Variable(rng.normal(size=(16, 24)).astype(np.float32))
  optimizer = adafactor.Adafactor(min_dim_size_to_factor=8, beta1=0.9)

  def loss():
    return tf.reduce_mean(tf.square(weights - target))

  @tf.function
  def train(steps):
    for _ in tf.range(steps):
      with tf.GradientTape() as tape:
        value = loss()
      optimizer.apply_gradients(
          [(tape.gradient(value, weights), weights)])

  initial_loss = float(loss())
  train(tf.constant(300))
  assert float(loss()) < 0.05 * initial_loss
  assert optimizer.iterations.numpy() == 300


def test_adafactor_config_round_trip():
  optimizer = adafactor.Adafactor(beta1=0.9, weight_decay=0.1,
                                  include_in_weight_decay='kernel',
                                  step_offset=4, clipnorm=1.0)
  clone = adafactor.Adafactor.from_config(optimizer.get_config())
  assert clone.get_config() == optimizer.get_config()
  assert float(clone.learning_rate(tf.constant(10.0))) == pytest.approx(
      min(1e-2, 7 ** -0.5))
