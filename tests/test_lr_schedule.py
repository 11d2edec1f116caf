"""Our learning-rate schedules against TFM 2.20's, number for number.

Each schedule kind is built from fixed and two seeded-random parameter sets,
each at a positive offset and at 0, each bare and under a linear and a
polynomial warmup (fixed warmups for the fixed set, random ones otherwise):
180 cases, each evaluated at 256 steps -- 0, every boundary / warmup end /
offset / decay end (and its 2nd and 3rd multiple) +-1, a grid, random steps,
10**6 and 10**7.

The comparison runs in one traced `map_fn` (a scalar step per iteration, so
the same kernels as eager mode) with Grappler off, and must be bitwise.
Grappler's rewrites (`x / c -> x * (1 / c)`) depend on the graph's shape
(`tf.where` here, `tf.cond` in TFM), so with it on, two exact implementations
may differ by an ulp: default `tf.function`, MirroredStrategy and vectorised
calls are held to ULP_NOISE instead.
"""
import contextlib
import functools
import inspect
import json

import numpy as np
import pytest
import tensorflow as tf
import tf_keras
from official.modeling.optimization import lr_schedule as tfm
from official.modeling.optimization.configs import learning_rate_config as tfm_cfg

from official_like.modeling.optimization import lr_schedule as ours

STEPS_PER_CASE = 256
FAR_STEPS = (10**6, 10**7)
FIXED_OFFSET = FIXED_WARMUP_STEPS = 30
# An ulp moved in an intermediate, grown by cancellation near a cosine's end.
ULP_NOISE = dict(rtol=1e-5, atol=1e-8)


def _u(rng, low, high):
  return float(rng.uniform(low, high))


def _sorted_ints(rng, count, low, high):
  return sorted(rng.choice(np.arange(low, high), count, replace=False).tolist())


def _stepwise(r):
  if r is None:
    return dict(boundaries=[100, 250, 400], values=[1.0, 0.3, 0.05, 0.001])
  n = int(r.integers(1, 5))
  return dict(boundaries=_sorted_ints(r, n, 1, 600),
              values=r.uniform(1e-4, 1, n + 1).tolist())


def _step_cosine(r):
  if r is None:
    return dict(boundaries=[0, 150, 400], values=[1.0, 0.1, 0.01])
  n = int(r.integers(1, 5))
  first = int(r.integers(1, 100))  # TFM times level 0 from step 0 anyway
  return dict(boundaries=[first] + _sorted_ints(r, n - 1, 100, 600),
              values=r.uniform(1e-4, 1, n).tolist())


def _lr(r):
  return 0.5 if r is None else _u(r, 1e-3, 1)


# kind -> (our class, TFM class or None for TFM's bare float, params(rng|None))
KINDS = {
    "constant": (ours.ConstantLearningRate, None,
                 lambda r: dict(learning_rate=_lr(r))),
    "stepwise": (ours.PiecewiseConstantDecayWithOffset,
                 tfm.PiecewiseConstantDecayWithOffset, _stepwise),
    "polynomial": (
        ours.PolynomialDecayWithOffset, tfm.PolynomialDecayWithOffset,
        lambda r: dict(initial_learning_rate=0.5, decay_steps=300)
        if r is None else dict(
            initial_learning_rate=_lr(r), decay_steps=int(r.integers(10, 500)),
            end_learning_rate=_u(r, 0, 1e-3), power=_u(r, 0.3, 3))),
    "polynomial_cycle": (
        ours.PolynomialDecayWithOffset, tfm.PolynomialDecayWithOffset,
        lambda r: dict(
            initial_learning_rate=_lr(r),
            decay_steps=120 if r is None else int(r.integers(10, 300)),
            power=2.0 if r is None else _u(r, 0.3, 3), cycle=True)),
    "exponential": (
        ours.ExponentialDecayWithOffset, tfm.ExponentialDecayWithOffset,
        lambda r: dict(initial_learning_rate=0.5, decay_steps=100,
                       decay_rate=0.5, staircase=None)
        if r is None else dict(
            initial_learning_rate=_lr(r), decay_steps=int(r.integers(10, 300)),
            decay_rate=_u(r, 0.05, 1), staircase=bool(r.integers(2)))),
    "cosine": (
        ours.CosineDecayWithOffset, tfm.CosineDecayWithOffset,
        lambda r: dict(initial_learning_rate=0.5, decay_steps=400)
        if r is None else dict(
            initial_learning_rate=_lr(r), decay_steps=int(r.integers(10, 500)),
            alpha=_u(r, 0, 0.5))),
    "cosine_keras_warmup": (
        ours.CosineDecayWithOffset, tfm.CosineDecayWithOffset,
        lambda r: dict(initial_learning_rate=0.0, decay_steps=300, alpha=0.1,
                       warmup_target=0.5, warmup_steps=50)
        if r is None else dict(
            initial_learning_rate=_u(r, 0, 0.1),
            decay_steps=int(r.integers(10, 400)), alpha=_u(r, 0, 0.5),
            warmup_target=_lr(r), warmup_steps=int(r.integers(1, 100)))),
    "direct_power": (
        ours.DirectPowerDecay, tfm.DirectPowerDecay,
        lambda r: dict(initial_learning_rate=_lr(r),
                       power=-0.5 if r is None else _u(r, -1.5, 0.5))),
    "power_and_linear": (
        ours.PowerAndLinearDecay, tfm.PowerAndLinearDecay,
        lambda r: dict(initial_learning_rate=0.5, total_decay_steps=500,
                       power=-0.5)
        if r is None else dict(
            initial_learning_rate=_lr(r),
            total_decay_steps=int(r.integers(10, 600)), power=_u(r, -1.5, 0.5),
            linear_decay_fraction=float(r.choice([0.0, _u(r, 0, 1)])))),
    "power_with_offset": (
        ours.PowerDecayWithOffset, tfm.PowerDecayWithOffset,
        lambda r: dict(initial_learning_rate=0.5, power=-0.5)
        if r is None else dict(
            initial_learning_rate=_lr(r), power=_u(r, -1.5, 0.5),
            pre_offset_learning_rate=_u(r, 0.1, 2))),
    "step_cosine": (ours.StepCosineDecayWithOffset,
                    tfm.StepCosineDecayWithOffset, _step_cosine),
}
WARMUPS = {"linear": (ours.LinearWarmup, tfm.LinearWarmup),
           "polynomial": (ours.PolynomialWarmUp, tfm.PolynomialWarmUp)}


def _has_offset(cls):
  return "offset" in inspect.signature(cls).parameters


class Case:
  """One schedule configuration, built both ways."""

  def __init__(self, kind, params, warmup, steps, bare, representative):
    our_cls, tfm_cls, _ = KINDS[kind]
    self.kind, self.steps, self.bare = kind, steps, bare
    self.representative = representative
    self.id = f"{kind}{params}+warmup={warmup}"
    self.base_ours = our_cls(**params)
    self.base_tfm = tfm_cls(**params) if tfm_cls else params["learning_rate"]
    self.ours, self.tfm, self.warmup_steps = self.base_ours, self.base_tfm, None
    if warmup:
      name, self.warmup_steps, arg = warmup
      our_warmup, tfm_warmup = WARMUPS[name]
      self.ours = our_warmup(self.base_ours, self.warmup_steps, arg)
      self.tfm = tfm_warmup(self.base_tfm, self.warmup_steps, arg)


def _steps(params, warmup_steps, rng):
  """Every step where something happens, +-1, plus a grid and random fill."""
  offset = params.get("offset", 0)
  marks = {0, offset, *warmup_steps}
  for key in ("boundaries", "decay_steps", "total_decay_steps",
              "warmup_steps"):
    for mark in np.atleast_1d(params.get(key, [])).tolist():
      marks |= {mark, offset + mark, offset + 2 * mark, offset + 3 * mark}
  if "total_decay_steps" in params:
    fade_start = params["total_decay_steps"] * (
        1 - params.get("linear_decay_fraction", 0.1))
    marks.add(offset + int(fade_start))
  steps = {m + d for m in marks for d in (-1, 0, 1) if m + d >= 0}
  steps |= set(FAR_STEPS) | {10 * max(marks)}
  horizon = max(2 * max(marks), 4 * STEPS_PER_CASE)
  steps |= set(np.linspace(0, horizon, 60, dtype=int).tolist())
  while len(steps) < STEPS_PER_CASE:
    steps.add(int(rng.integers(0, horizon)))
  assert len(steps) == STEPS_PER_CASE, params
  return sorted(steps)


def _build_cases():
  """Per kind: fixed and two random parameter sets, each at a positive
  offset and at 0, each bare and under a linear and a polynomial warmup."""
  rng = np.random.default_rng(20250220)
  cases = []
  for kind, (our_cls, _, make) in KINDS.items():
    for fixed in (True, False, False):
      params = make(None if fixed else rng)
      offsets = [FIXED_OFFSET if fixed else int(rng.integers(1, 300)), 0]
      for offset in offsets if _has_offset(our_cls) else [None]:
        shifted = params if offset is None else dict(params, offset=offset)
        warmups = [("linear", FIXED_WARMUP_STEPS, 0),
                   ("polynomial", FIXED_WARMUP_STEPS, 1)] if fixed else [
                       ("linear", int(rng.integers(0, 300)), _u(rng, 0, 0.05)),
                       ("polynomial", int(rng.integers(0, 300)),
                        _u(rng, 0.25, 4))]
        steps = _steps(shifted, [w[1] for w in warmups], rng)
        representative = fixed and offset in (None, FIXED_OFFSET)
        cases += [Case(kind, shifted, w, steps, len(cases), representative)
                  for w in [None] + warmups]
  return cases


CASES = _build_cases()
REPRESENTATIVES_ROWS = [i for i, c in enumerate(CASES) if c.representative]
REPRESENTATIVES = [CASES[i] for i in REPRESENTATIVES_ROWS]


@contextlib.contextmanager
def _grappler(enabled):
  saved = tf.config.optimizer.get_experimental_options()
  tf.config.optimizer.set_experimental_options(
      {"disable_meta_optimizer": not enabled})
  try:
    yield
  finally:
    tf.config.optimizer.set_experimental_options(saved)


def _evaluate(schedules, steps, grappler=False):
  """`out[i, j] = schedules[i](steps[i][j])`: scalar steps, a single trace."""
  schedules = [s if callable(s) else (lambda _, lr=s: tf.constant(lr))
               for s in schedules]

  @tf.function(autograph=False)
  def run(step_columns):
    def one_column(column):
      return tf.stack([s(column[i]) for i, s in enumerate(schedules)])
    return tf.map_fn(one_column, step_columns, fn_output_signature=tf.float32)

  with _grappler(grappler):
    return run(tf.constant(np.transpose(steps), tf.int64)).numpy().T


@pytest.fixture(scope="module")
def values():
  steps = [c.steps for c in CASES]
  return (_evaluate([c.ours for c in CASES], steps),
          _evaluate([c.tfm for c in CASES], steps))


@pytest.mark.parametrize("kind", KINDS)
def test_matches_tfm_bitwise(values, kind):
  got, want = values
  rows = [i for i, c in enumerate(CASES) if c.kind == kind]
  for i in rows:
    np.testing.assert_array_equal(
        got[i], want[i], err_msg=f"{CASES[i].id} at steps {CASES[i].steps}")
  assert len(np.unique(got[rows][np.isfinite(got[rows])])) > 100


def test_matches_tfm_under_default_grappler():
  """What training sees. Both sides get the same rewrites, which matters for
  cyclic polynomial decay: there they move `ceil` and hence the rate itself."""
  steps = [c.steps for c in REPRESENTATIVES]
  got, want = [_evaluate([getattr(c, side) for c in REPRESENTATIVES], steps,
                         grappler=True) for side in ("ours", "tfm")]
  np.testing.assert_allclose(got, want, **ULP_NOISE)


def test_steps_beyond_exact_float32_integers():
  """Like TFM's offset wrapper we subtract the offset before the float32
  cast. TFM's PowerDecayWithOffset alone casts first, so there the two agree
  only to rounding once steps pass 2**24."""
  big, offset = 2**26, 12345
  built = {name: (getattr(ours, name)(offset=offset, **kw),
                  getattr(tfm, name)(offset=offset, **kw)) for name, kw in [
      ("PolynomialDecayWithOffset", dict(initial_learning_rate=0.5,
                                         decay_steps=big)),
      ("ExponentialDecayWithOffset", dict(initial_learning_rate=0.5,
                                          decay_steps=big, decay_rate=0.1)),
      ("CosineDecayWithOffset", dict(initial_learning_rate=0.5,
                                     decay_steps=big)),
      ("PowerAndLinearDecay", dict(initial_learning_rate=0.5,
                                   total_decay_steps=big, power=-0.5,
                                   linear_decay_fraction=0.9)),
      ("StepCosineDecayWithOffset", dict(boundaries=[0, big, 2 * big],
                                         values=[1.0, 0.1, 0.01])),
      ("PowerDecayWithOffset", dict(initial_learning_rate=0.5, power=-0.5)),
  ]}
  steps = [2**24 + k for k in range(-3, 12)] + [2**25 + 1, big + 3]
  got = _evaluate([m for m, _ in built.values()], [steps] * len(built))
  want = _evaluate([t for _, t in built.values()], [steps] * len(built))
  for name, mine, theirs in zip(built, got, want):
    assert len(np.unique(mine)) > 5, name
    if name == "PowerDecayWithOffset":
      np.testing.assert_allclose(mine, theirs, rtol=1e-6)
    else:
      np.testing.assert_array_equal(mine, theirs, err_msg=name)


def test_warmup_replaces_the_start_and_ends_on_the_schedule(values):
  got, _ = values
  for i, case in enumerate(CASES):
    if case.warmup_steps is None:
      continue
    after = np.array(case.steps) >= case.warmup_steps
    np.testing.assert_array_equal(got[i][after], got[case.bare][after], case.id)
    end = case.ours(case.warmup_steps)
    np.testing.assert_array_equal(end, case.base_ours(case.warmup_steps))
    starts_linear = isinstance(case.ours, ours.LinearWarmup) and np.isfinite(end)
    if starts_linear and case.warmup_steps > 0:
      assert got[i][0] == np.float32(case.ours.warmup_learning_rate), case.id


def test_warmup_accepts_float_constant_or_schedule():
  steps = [list(range(0, 45, 3))] * 3
  for warmup, arg in [(ours.LinearWarmup, 0.01), (ours.PolynomialWarmUp, 2)]:
    got = _evaluate([warmup(after, 30, arg) for after in (
        0.25, ours.ConstantLearningRate(0.25),
        ours.ExponentialDecayWithOffset(0.25, 10, 1.0))], steps)
    np.testing.assert_array_equal(got[1], got[0])
    np.testing.assert_array_equal(got[2], got[0])
    assert len(np.unique(got[0])) == 11


@pytest.mark.parametrize("grappler", [False, True])
def test_eager_function_and_mirrored_strategy_agree(grappler, two_cpu_strategy):
  """Grappler off: graphs compute exactly what eager mode does. On (the
  default) its rewrites may move an intermediate by an ulp."""
  assert len(REPRESENTATIVES) == 3 * len(KINDS)
  schedules = [c.ours for c in REPRESENTATIVES]
  steps = [0, 1, 29, 30, 31, 59, 60, 61, 150, 399, 400, 401, 10**6]
  eager = np.array([[s(step).numpy() for step in steps] for s in schedules])
  for row, s in zip(eager, schedules):
    assert s(np.int64(7)).dtype == tf.float32
    np.testing.assert_array_equal(
        [s(tf.constant(step, tf.int64)) for step in steps], row)
  agree = functools.partial(np.testing.assert_allclose,
                            **(ULP_NOISE if grappler else dict(rtol=0)))
  all_lrs = lambda step: tf.stack([s(step) for s in schedules])
  strategy = two_cpu_strategy

  @tf.function(input_signature=[tf.TensorSpec([], tf.int64)])
  def replicated(step):
    return strategy.experimental_local_results(
        strategy.run(all_lrs, args=(step,)))

  with _grappler(grappler):
    for dtype in (tf.int64, tf.float32):
      fn = tf.function(all_lrs, input_signature=[tf.TensorSpec([], dtype)])
      traced = np.array([fn(tf.constant(step, dtype)) for step in steps])
      agree(traced.T, eager, err_msg=str(dtype))
    python_int_fn = tf.function(all_lrs)
    for j in (0, 4, 10):
      agree(python_int_fn(steps[j]), eager[:, j])
    for j, step in enumerate(steps):
      per_replica = replicated(tf.constant(step, tf.int64))
      assert len(per_replica) == 2
      for replica_values in per_replica:
        agree(replica_values, eager[:, j], err_msg=f"replica, step {step}")


def test_vectorised_steps_match_scalar_steps(values):
  """A step tensor of any shape works; SIMD kernels may differ by an ulp."""
  got, _ = values
  for i in REPRESENTATIVES_ROWS:
    vectorised = CASES[i].ours(tf.constant(CASES[i].steps, tf.int64))
    np.testing.assert_allclose(vectorised, got[i], **ULP_NOISE,
                               err_msg=CASES[i].id)
  grid = tf.reshape(tf.range(12, dtype=tf.int64), [3, 4])
  for i in REPRESENTATIVES_ROWS:
    assert CASES[i].ours(grid).shape == (3, 4), CASES[i].id


def test_keras_serialization_round_trip():
  serialize = tf_keras.optimizers.schedules.serialize
  deserialize = tf_keras.optimizers.schedules.deserialize
  nested = ours.PolynomialWarmUp(ours.LinearWarmup(
      ours.CosineDecayWithOffset(0.3, 100, offset=20), 20, 0.01), 10, 2.0)
  schedules = [c.ours for c in REPRESENTATIVES] + [
      ours.LinearWarmup(0.3, 10, 0.0), nested]
  steps = tf.constant([0, 5, 10, 19, 20, 21, 50, 200, 1000], tf.int64)
  for schedule in schedules:
    text = json.dumps(serialize(schedule))
    rebuilt = deserialize(json.loads(text))
    assert type(rebuilt) is type(schedule)
    assert json.dumps(serialize(rebuilt)) == text
    again = type(schedule).from_config(schedule.get_config())
    for copy in (rebuilt, again):
      np.testing.assert_array_equal(copy(steps), schedule(steps), text)

  optimizer = tf_keras.optimizers.SGD(learning_rate=nested)
  restored = tf_keras.optimizers.SGD.from_config(optimizer.get_config())
  assert restored.get_config() == optimizer.get_config()
  assert restored.learning_rate.numpy() == nested(0).numpy() > 0


def _defaults(fn):
  return {name: p.default
          for name, p in inspect.signature(fn).parameters.items()
          if name not in ("self", "kwargs")}


@pytest.mark.parametrize("name", [
    "PiecewiseConstantDecayWithOffset", "PolynomialDecayWithOffset",
    "ExponentialDecayWithOffset", "CosineDecayWithOffset", "DirectPowerDecay",
    "PowerAndLinearDecay", "PowerDecayWithOffset", "StepCosineDecayWithOffset",
    "LinearWarmup", "PolynomialWarmUp"])
def test_constructor_arguments_match_tfm(name):
  theirs, mine = getattr(tfm, name), getattr(ours, name)
  want = _defaults(theirs)
  if hasattr(theirs, "base_lr_class"):
    want.update(_defaults(theirs.base_lr_class.__init__))
  else:
    assert list(_defaults(mine)) == list(want)
  assert _defaults(mine) == want


@pytest.mark.parametrize("config_cls,name,fields", [
    (tfm_cfg.ConstantLrConfig, "ConstantLearningRate", {}),
    (tfm_cfg.StepwiseLrConfig, "PiecewiseConstantDecayWithOffset",
     dict(boundaries=[10], values=[0.1, 0.01], offset=3)),
    (tfm_cfg.PolynomialLrConfig, "PolynomialDecayWithOffset",
     dict(initial_learning_rate=0.1, decay_steps=50)),
    (tfm_cfg.ExponentialLrConfig, "ExponentialDecayWithOffset",
     dict(initial_learning_rate=0.1, decay_steps=50, decay_rate=0.9)),
    (tfm_cfg.CosineLrConfig, "CosineDecayWithOffset",
     dict(initial_learning_rate=0.1, decay_steps=50)),
    (tfm_cfg.DirectPowerLrConfig, "DirectPowerDecay",
     dict(initial_learning_rate=0.1)),
    (tfm_cfg.PowerAndLinearDecayLrConfig, "PowerAndLinearDecay",
     dict(initial_learning_rate=0.1, total_decay_steps=50)),
    (tfm_cfg.PowerDecayWithOffsetLrConfig, "PowerDecayWithOffset",
     dict(initial_learning_rate=0.1, offset=5)),
    (tfm_cfg.StepCosineLrConfig, "StepCosineDecayWithOffset",
     dict(boundaries=[0, 30], values=[0.1, 0.01])),
])
def test_builds_from_tfm_config_dicts(config_cls, name, fields):
  """What the factory does: `Cls(**config.as_dict())`, then a warmup."""
  config = config_cls(**fields).as_dict()
  mine = getattr(ours, name)(**config)
  theirs = (config["learning_rate"] if config_cls is tfm_cfg.ConstantLrConfig
            else getattr(tfm, name)(**config))
  built = [mine, theirs]
  for warmup_cls in (tfm_cfg.LinearWarmupConfig,
                     tfm_cfg.PolynomialWarmupConfig):
    warmup = warmup_cls(warmup_steps=10).as_dict()
    our_warmup, tfm_warmup = WARMUPS[warmup["name"]]
    built += [our_warmup(mine, **warmup), tfm_warmup(theirs, **warmup)]
  got = _evaluate(built, [[0, 1, 5, 9, 10, 11, 40, 100]] * len(built))
  np.testing.assert_array_equal(got[0::2], got[1::2], str(config))


def test_invalid_lengths_raise_like_tfm():
  with pytest.raises(ValueError):
    ours.PiecewiseConstantDecayWithOffset([10, 20], [1.0, 0.5])
  with pytest.raises(ValueError):
    ours.StepCosineDecayWithOffset([10, 20], [1.0, 0.5, 0.1])
  with pytest.raises(ValueError):
    ours.StepCosineDecayWithOffset([], [])


def test_integer_hyperparameters_still_give_float32():
  """TFM returns int32 or fails here (Keras takes the dtype of the lr)."""
  steps = tf.constant([0, 5, 50], tf.int64)
  exponential = ours.ExponentialDecayWithOffset(1, 10, 1, offset=2)(steps)
  assert exponential.dtype == tf.float32
  np.testing.assert_array_equal(exponential, [1.0, 1.0, 1.0])
  np.testing.assert_array_equal(
      ours.PiecewiseConstantDecayWithOffset([3], [2, 1])(steps), [2, 1, 1])


@pytest.mark.parametrize("name,kwargs", [
    ("PiecewiseConstantDecayWithOffset",
     dict(boundaries=[50, 80], values=[1.0, 0.5, 0.1])),
    ("PolynomialDecayWithOffset",
     dict(initial_learning_rate=1.0, decay_steps=100, power=2.0)),
    ("ExponentialDecayWithOffset",
     dict(initial_learning_rate=1.0, decay_steps=100, decay_rate=0.5)),
    ("CosineDecayWithOffset",
     dict(initial_learning_rate=1.0, decay_steps=100, alpha=0.1)),
])
def test_offset_classes_name_their_keras_base_like_tfm(name, kwargs):
  cls = getattr(ours, name)
  assert cls.base_lr_class is getattr(tfm, name).base_lr_class
  assert "offset" in cls.__init__.__doc__
  offset = 10
  shifted, base = cls(offset=offset, **kwargs), cls.base_lr_class(**kwargs)
  for step in range(offset, 131, 7):
    assert shifted(step).numpy() == base(step - offset).numpy(), step


def test_every_schedule_documents_its_constructor():
  for name in ("ConstantLearningRate", "DirectPowerDecay", "LinearWarmup",
               "PolynomialWarmUp", "StepCosineDecayWithOffset"):
    assert getattr(ours, name).__init__.__doc__, name


def test_schedule_and_config_share_one_rule():
  """The same ConfigError text whether the schedule or the config is wrong."""
  from official_like.modeling.optimization import OptimizationConfig  # pylint: disable=g-import-not-at-top
  for bad in (dict(boundaries=[10, 20], values=[1.0, 0.5]),
              dict(boundaries=[20, 10], values=[1.0, 0.5, 0.1])):
    with pytest.raises(ValueError) as from_schedule:
      ours.PiecewiseConstantDecayWithOffset(**bad)
    with pytest.raises(ValueError) as from_config:
      OptimizationConfig({"learning_rate": {"type": "stepwise",
                                            "stepwise": bad}})
    assert str(from_config.value) == (
        f"learning_rate.stepwise.{from_schedule.value}")
