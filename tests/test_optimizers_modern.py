"""nadam, adamax, lion and adan: NumPy references, a quadratic, the factory.

TFM has none of these, so each is checked against a float64 NumPy
transcription of its published update rule (Dozat's Nadam in Keras' and
PyTorch's form, Adamax from Kingma & Ba section 7, Lion from Chen et al.
Algorithm 2, Adan from Xie et al. Algorithm 1 as its reference code runs it),
for both classes the factory may build (`use_legacy_optimizer` True and
False), with a decaying learning rate, every clipping option and weight
decay; then on a quadratic they must minimise, under tf.function and
MirroredStrategy, with sparse gradients, EMA and a serialization round trip.
"""
import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from official_like.modeling import optimization
from official_like.modeling.hyperparams import ConfigError
from official_like.modeling.optimization import adan
from official_like.modeling.optimization import ema_optimizer
from official_like.modeling.optimization import lion
from official_like.modeling.optimization import nadam

STEPS = 10
SHAPES = {'dense/kernel': (4, 3), 'dense/bias': (3,), 'scale': (2, 2, 2)}
_rng = np.random.default_rng(0)
INITIAL = {n: _rng.normal(size=s).astype(np.float32) for n, s in SHAPES.items()}
_rng = np.random.default_rng(1)
GRADIENTS = [{n: (2.0 * _rng.normal(size=s)).astype(np.float32)
              for n, s in SHAPES.items()} for _ in range(STEPS)]
LR = {'type': 'polynomial', 'polynomial': {
    'initial_learning_rate': 0.02, 'decay_steps': STEPS,
    'end_learning_rate': 0.002, 'power': 2.0}}


def _lr(step):
  """The schedule above at `iterations = step` (0-based), in float64."""
  return (0.02 - 0.002) * (1 - min(step, STEPS) / STEPS) ** 2 + 0.002


def _nadam(w, grads, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
  m, v, product = np.zeros_like(w), np.zeros_like(w), 1.0
  mu = lambda t: beta_1 * (1 - 0.5 * 0.96 ** (0.004 * t))
  for t, g in enumerate(grads, start=1):
    m = beta_1 * m + (1 - beta_1) * g
    v = beta_2 * v + (1 - beta_2) * g * g
    product *= mu(t)
    m_bar = ((1 - mu(t)) * g / (1 - product) +
             mu(t + 1) * m / (1 - product * mu(t + 1)))
    w = w - _lr(t - 1) * m_bar / (np.sqrt(v / (1 - beta_2**t)) + epsilon)
  return w


def _adamax(w, grads, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
  m, u = np.zeros_like(w), np.zeros_like(w)
  for t, g in enumerate(grads, start=1):
    m = beta_1 * m + (1 - beta_1) * g
    u = np.maximum(beta_2 * u, np.abs(g))
    w = w - _lr(t - 1) / (1 - beta_1**t) * m / (u + epsilon)
  return w


def _lion(w, grads, beta_1=0.9, beta_2=0.99, weight_decay=0.0):
  m = np.zeros_like(w)
  for t, g in enumerate(grads, start=1):
    update = np.sign(beta_1 * m + (1 - beta_1) * g)
    w = w - _lr(t - 1) * (update + weight_decay * w)
    m = beta_2 * m + (1 - beta_2) * g
  return w


def _adan(w, grads, beta_1=0.98, beta_2=0.92, beta_3=0.99, epsilon=1e-8,
          weight_decay=0.0):
  m, v, n, previous = (np.zeros_like(w) for _ in range(4))
  for t, g in enumerate(grads, start=1):
    d = g - previous if t > 1 else np.zeros_like(g)
    m = beta_1 * m + (1 - beta_1) * g
    v = beta_2 * v + (1 - beta_2) * d
    n = beta_3 * n + (1 - beta_3) * (g + beta_2 * d) ** 2
    step = ((m / (1 - beta_1**t) + beta_2 * v / (1 - beta_2**t)) /
            (np.sqrt(n / (1 - beta_3**t)) + epsilon))
    lr = _lr(t - 1)
    w = (w - lr * step) / (1 + lr * weight_decay)
    previous = g
  return w


REFERENCES = {'nadam': _nadam, 'adamax': _adamax, 'lion': _lion, 'adan': _adan}
SETTINGS = {
    'nadam': {'beta_1': 0.85, 'beta_2': 0.99, 'epsilon': 1e-6},
    'adamax': {'beta_1': 0.8, 'beta_2': 0.95},
    'lion': {'beta_1': 0.8, 'beta_2': 0.95, 'weight_decay': 0.5},
    'adan': {'beta_1': 0.9, 'beta_2': 0.85, 'beta_3': 0.95,
             'weight_decay': 0.3},
}
CLASSES = {  # (use_legacy_optimizer=True, False)
    'nadam': (nadam.Nadam, nadam.Nadam),
    'adamax': (tf_keras.optimizers.legacy.Adamax, tf_keras.optimizers.Adamax),
    'lion': (lion.Lion, tf_keras.optimizers.Lion),
    'adan': (adan.Adan, adan.Adan),
}


def _clip(grads, clipnorm=None, clipvalue=None, global_clipnorm=None):
  """Keras' legacy clipping order, in float64, on one step's gradients."""
  grads = {n: g.astype(np.float64) for n, g in grads.items()}
  if clipvalue:
    grads = {n: np.clip(g, -clipvalue, clipvalue) for n, g in grads.items()}
  if clipnorm:
    grads = {n: g * clipnorm / max(np.linalg.norm(g), clipnorm)
             for n, g in grads.items()}
  if global_clipnorm:
    norm = np.sqrt(sum(np.sum(g * g) for g in grads.values()))
    grads = {n: g * global_clipnorm / max(norm, global_clipnorm)
             for n, g in grads.items()}
  return grads


def _expected(kind, settings, clips=None):
  clipped = [_clip(g, **(clips or {})) for g in GRADIENTS]
  return {n: REFERENCES[kind](INITIAL[n].astype(np.float64),
                              [g[n] for g in clipped], **settings)
          for n in SHAPES}


def _build(kind, settings, legacy=True, lr=None, **extra):
  factory = optimization.OptimizerFactory(optimization.OptimizationConfig({
      'optimizer': {'type': kind, kind: settings},
      'learning_rate': lr or LR, **extra}))
  return factory.build_optimizer(factory.build_learning_rate(),
                                 use_legacy_optimizer=legacy)


def _train(optimizer, mode='eager', gradients=GRADIENTS):
  variables = [tf.Variable(INITIAL[n], name=n) for n in SHAPES]
  if isinstance(optimizer, ema_optimizer.ExponentialMovingAverage):
    module = tf.Module()
    module.weights = variables
    optimizer.shadow_copy(module)

  def step(grads):
    optimizer.apply_gradients(zip(grads, variables))

  if mode == 'function':
    step = tf.function(step)
  for grads in gradients:
    step([tf.constant(grads[n]) for n in SHAPES])
  return {n: v.numpy() for n, v in zip(SHAPES, variables)}


def _assert_close(got, want, rtol=1e-5):
  for name in SHAPES:
    np.testing.assert_allclose(got[name], want[name], rtol=rtol, atol=1e-6,
                               err_msg=name)
    assert not np.allclose(got[name], INITIAL[name])


@pytest.mark.parametrize('legacy', [True, False], ids=['legacy', 'new'])
@pytest.mark.parametrize('kind', sorted(REFERENCES))
def test_matches_numpy_reference(kind, legacy):
  for settings in ({}, SETTINGS[kind]):
    optimizer = _build(kind, settings, legacy)
    assert type(optimizer) is CLASSES[kind][0 if legacy else 1]
    _assert_close(_train(optimizer), _expected(kind, settings))


@pytest.mark.parametrize('clips', [
    {'clipnorm': 0.5}, {'clipvalue': 0.3}, {'global_clipnorm': 1.0},
    {'clipvalue': 0.3, 'global_clipnorm': 1.0}], ids=str)
@pytest.mark.parametrize('kind', sorted(REFERENCES))
def test_clipping_options_are_applied(kind, clips):
  """Legacy classes apply every clip set (the new ones only the first)."""
  settings = dict(SETTINGS[kind], **clips)
  _assert_close(_train(_build(kind, settings)), _expected(kind, SETTINGS[kind],
                                                          clips))
  if len(clips) == 1:
    _assert_close(_train(_build(kind, settings, legacy=False)),
                  _expected(kind, SETTINGS[kind], clips))


@pytest.mark.parametrize('kind', ['nadam', 'lion', 'adan'])
def test_our_classes_agree_eager_and_in_tf_function(kind):
  eager = _train(_build(kind, SETTINGS[kind]))
  traced = _train(_build(kind, SETTINGS[kind]), mode='function')
  _assert_close(traced, eager, rtol=1e-6)


@pytest.mark.parametrize('kind', ['nadam', 'lion', 'adan'])
def test_our_classes_under_mirrored_strategy(two_cpu_strategy, kind):
  strategy = two_cpu_strategy
  with strategy.scope():
    variables = [tf.Variable(INITIAL[n], name=n) for n in SHAPES]
    optimizer = _build(kind, SETTINGS[kind])

  @tf.function
  def step(grads):
    # Two replicas each send half: the summed gradient is the one above.
    strategy.run(lambda: optimizer.apply_gradients(
        zip([g / 2 for g in grads], variables)))

  for grads in GRADIENTS:
    step([tf.constant(grads[n]) for n in SHAPES])
  for var in variables:
    np.testing.assert_array_equal(var.values[0].numpy(), var.values[1].numpy())
  _assert_close({n: v.numpy() for n, v in zip(SHAPES, variables)},
                _expected(kind, SETTINGS[kind]))


QUADRATIC_LR = {
    'nadam': 0.1, 'adamax': 0.2, 'lion': 0.1, 'adan': 0.1,
}


@pytest.mark.parametrize('legacy', [True, False], ids=['legacy', 'new'])
@pytest.mark.parametrize('kind', sorted(REFERENCES))
def test_minimises_a_quadratic(kind, legacy):
  rng = np.random.default_rng(2)
  curvature = tf.constant(rng.uniform(0.5, 5.0, size=20), tf.float32)
  target = tf.constant(3.0 * rng.normal(size=20), tf.float32)
  w = tf.Variable(tf.zeros(20))
  steps = 300
  optimizer = _build(kind, {}, legacy, lr={
      'type': 'cosine', 'cosine': {'initial_learning_rate': QUADRATIC_LR[kind],
                                   'decay_steps': steps}})

  def loss():
    return 0.5 * tf.reduce_sum(curvature * tf.square(w - target))

  @tf.function
  def step():
    with tf.GradientTape() as tape:
      value = loss()
    optimizer.apply_gradients([(tape.gradient(value, w), w)])

  start = float(loss())
  for _ in range(steps):
    step()
  assert float(loss()) < 1e-3 * start, (kind, start, float(loss()))


@pytest.mark.parametrize('kind', ['nadam', 'lion', 'adan'])
def test_sparse_gradient_equals_its_dense_form(kind):
  table = np.arange(12, dtype=np.float32).reshape(6, 2) / 10

  def run(sparse):
    var = tf.Variable(table)
    optimizer = _build(kind, SETTINGS[kind])
    for i in range(3):
      with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.gather(var, [1, 4, 4]) * float(i + 1))
      grad = tape.gradient(loss, var)
      assert isinstance(grad, tf.IndexedSlices)
      if not sparse:
        grad = tf.convert_to_tensor(grad)
      optimizer.apply_gradients([(grad, var)])
    return var.numpy()

  np.testing.assert_allclose(run(True), run(False), rtol=1e-6)


@pytest.mark.parametrize('kind', ['nadam', 'lion', 'adan'])
def test_config_round_trip_keeps_the_schedule(kind):
  optimizer = _build(kind, dict(SETTINGS[kind], clipnorm=0.7))
  config = optimizer.get_config()
  assert config['clipnorm'] == 0.7
  for key, value in SETTINGS[kind].items():
    np.testing.assert_allclose(config[key], value, err_msg=key)
  restored = type(optimizer).from_config(dict(config))  # Keras edits it
  assert restored.get_config() == config
  _assert_close(_train(restored), _expected(kind, SETTINGS[kind],
                                            {'clipnorm': 0.7}))


@pytest.mark.parametrize('kind', sorted(REFERENCES))
def test_ema_and_gradient_hooks_work_with_the_legacy_classes(kind):
  params = {'optimizer': {'type': kind, kind: SETTINGS[kind]},
            'learning_rate': LR, 'ema': {'average_decay': 0.9}}
  factory = optimization.OptimizerFactory(optimization.OptimizationConfig(params))
  halve = lambda grads_and_vars: [(g * 0.5, v) for g, v in grads_and_vars]
  optimizer = factory.build_optimizer(factory.build_learning_rate(),
                                      gradient_transformers=[halve])
  assert isinstance(optimizer, ema_optimizer.ExponentialMovingAverage)
  got = _train(optimizer)
  halved = [{n: g / 2 for n, g in grads.items()} for grads in GRADIENTS]
  want = {n: REFERENCES[kind](INITIAL[n].astype(np.float64),
                              [g[n] for g in halved], **SETTINGS[kind])
          for n in SHAPES}
  _assert_close(got, want)


@pytest.mark.parametrize('kind,settings,message', [
    ('lion', {'beta_1': 0.0},
     r'optimizer\.lion\.beta_1: must be in \(0\.0, 1\.0\], got 0\.0'),
    ('lion', {'weight_decay': -0.1},
     r'optimizer\.lion\.weight_decay: must be >= 0\.0, got -0\.1'),
    ('adan', {'beta_3': 1.0},
     r'optimizer\.adan\.beta_3: must be in \[0\.0, 1\.0\), got 1\.0'),
    ('nadam', {'beta_2': 1.0},
     r'optimizer\.nadam\.beta_2: must be in \[0\.0, 1\.0\), got 1\.0'),
    ('adamax', {'epsilon': -1.0},
     r'optimizer\.adamax\.epsilon: must be >= 0\.0, got -1\.0'),
    ('adamax', {'clipnorm': 1.0, 'global_clipnorm': 1.0},
     r'optimizer\.adamax\.global_clipnorm: cannot be set together with clipnorm'),
    ('nadam', {'clipvalue': 0.0},
     r'optimizer\.nadam\.clipvalue: must be > 0, got 0\.0'),
    ('adan', {'betas': [0.9, 0.9, 0.9]},
     r"optimizer\.adan\.betas: unknown key; did you mean 'beta_\d'\?"),
])
def test_config_mistakes_are_reported_with_their_key(kind, settings, message):
  with pytest.raises(ConfigError, match='^' + message):
    optimization.OptimizationConfig({'optimizer': {'type': kind,
                                                   kind: settings}})


def test_defaults_match_the_constructors():
  """`Cls(**config)` with the config's defaults is `Cls()` with its own."""
  for kind, classes in CLASSES.items():
    config = getattr(optimization.OptimizerConfig(), kind).as_dict()
    for cls in set(classes):
      built = cls(**{k: v for k, v in config.items() if v is not None})
      default = cls().get_config()
      for key in config:
        if key != 'name' and default.get(key) is not None:
          assert built.get_config()[key] == pytest.approx(default[key]), (
              kind, cls, key)
