"""Optimization configs: same shape as TFM's, and every mistake caught early.

Parity: each config class of TFM's `optimizer_config`, `learning_rate_config`
and `optimization_config` modules has a namesake here with the same fields in
the same order and the same defaults, and the same dict or YAML gives the same
`as_dict()`. Errors: each rule is reported as a `ConfigError` (a ValueError)
when the `OptimizationConfig` or the `OptimizerFactory` is made, with the full
key path and the broken rule in the message.
"""
import dataclasses
import inspect
import os
import re
import subprocess
import sys
import textwrap

import pytest

from official.modeling.optimization import OptimizationConfig as TfmOptimizationConfig
from official.modeling.optimization.configs import learning_rate_config as tfm_lr_cfg
from official.modeling.optimization.configs import optimization_config as tfm_cfg
from official.modeling.optimization.configs import optimizer_config as tfm_opt_cfg
from official_like.modeling.hyperparams import ConfigError
from official_like.modeling.optimization import OptimizationConfig
from official_like.modeling.optimization import OptimizerFactory
from official_like.modeling.optimization.configs import learning_rate_config as lr_cfg
from official_like.modeling.optimization.configs import optimization_config as cfg
from official_like.modeling.optimization.configs import optimizer_config as opt_cfg

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULES = [(tfm_opt_cfg, opt_cfg), (tfm_lr_cfg, lr_cfg), (tfm_cfg, cfg)]
TFM_CLASSES = [
    (name, theirs, ours) for tfm_module, ours in MODULES
    for name, theirs in sorted(vars(tfm_module).items())
    if inspect.isclass(theirs) and dataclasses.is_dataclass(theirs)
    and theirs.__module__ == tfm_module.__name__
]


def test_all_tfm_config_classes_are_collected():
  names = {name for name, _, _ in TFM_CLASSES}
  assert len(names) == 30  # 15 optimizer, 11 schedule, 4 oneof/top-level
  assert {'BaseOptimizerConfig', 'SGDConfig', 'AdafactorKerasConfig',
          'EMAConfig', 'SLIDEConfig', 'ConstantLrConfig', 'StepCosineLrConfig',
          'LinearWarmupConfig', 'PolynomialWarmupConfig', 'OptimizerConfig',
          'LrConfig', 'WarmupConfig', 'OptimizationConfig'} <= names


# The fields official_like adds to TFM's configs, declared after TFM's own:
# choices of the oneofs, and the opt-in batch scaling of the rates (left out
# of as_dict() while unset, so the dicts below still equal TFM's).
OUR_EXTRA_CHOICES = {
    'OptimizerConfig': ['nadam', 'adamax', 'lion', 'adan'],
    'LrConfig': ['wsd', 'cosine_restarts', 'inverse_sqrt', 'one_cycle',
                 'linear'],
    'OptimizationConfig': ['learning_rate_scaling'],
}


@pytest.mark.parametrize('name,theirs,module', TFM_CLASSES,
                         ids=[name for name, _, _ in TFM_CLASSES])
def test_config_class_matches_tfm(name, theirs, module):
  ours = getattr(module, name, None)
  assert ours is not None, f'{module.__name__} has no {name}'
  their_fields = [f.name for f in dataclasses.fields(theirs)]
  # Declared fields: TFM's, in TFM's order, then exactly our listed extras
  # (choices registered at run time come after them).
  declared = their_fields + OUR_EXTRA_CHOICES.get(name, [])
  assert [f.name for f in dataclasses.fields(ours)] == declared
  assert list(ours.field_types())[:len(declared)] == declared
  ours_default, theirs_default = ours(), theirs()
  for field in their_fields:
    mine, tfm = getattr(ours_default, field), getattr(theirs_default, field)
    if hasattr(tfm, 'as_dict'):
      mine, tfm = mine.as_dict(), tfm.as_dict()
    assert mine == tfm, field
    assert type(mine) is type(tfm) or {type(mine), type(tfm)} == {int, float}
  assert ours_default.as_dict() == theirs_default.as_dict()


NON_DEFAULT = {
    'SGDConfig': {'momentum': 0.9, 'nesterov': True, 'decay': 0.01,
                  'clipnorm': 1.5, 'name': 'my_sgd'},
    'AdamWeightDecayConfig': {'weight_decay_rate': 0.01,
                              'include_in_weight_decay': ['dense'],
                              'exclude_from_weight_decay': ['LayerNorm', 'bias'],
                              'gradient_clip_norm': 0.0, 'epsilon': 1e-6},
    'AdamWeightDecayExperimentalConfig': {'global_clipnorm': None,
                                          'clipvalue': 2.0,
                                          'weight_decay': 0.1},
    'LARSConfig': {'momentum': 0.8, 'exclude_from_layer_adaptation': ['bn'],
                   'classic_momentum': False},
    'EMAConfig': {'average_decay': 0.9999, 'start_step': 100,
                  'dynamic_decay': False, 'trainable_weights_only': False},
    'AdafactorConfig': {'beta1': 0.9, 'weight_decay': 1e-5,
                        'include_in_weight_decay': 'kernel'},
    'StepwiseLrConfig': {'boundaries': [100, 200], 'values': [1.0, 0.1, 0.01],
                         'offset': 10},
    'PowerAndLinearDecayLrConfig': {'initial_learning_rate': 0.5,
                                    'total_decay_steps': 1000, 'power': -1.0,
                                    'linear_decay_fraction': 0.3},
    'LinearWarmupConfig': {'warmup_steps': 100, 'warmup_learning_rate': 0.001},
}


@pytest.mark.parametrize('name', list(NON_DEFAULT))
def test_non_default_dicts_match_tfm(name):
  module = next(m for _, m in MODULES if hasattr(m, name))
  tfm_module = next(t for t, m in MODULES if m is module)
  params = NON_DEFAULT[name]
  ours = getattr(module, name)(params).as_dict()
  assert ours == getattr(tfm_module, name)(params).as_dict()
  assert {k: ours[k] for k in params} == params


FULL_PARAMS = [
    {'optimizer': {'type': 'rmsprop', 'rmsprop': {'rho': 0.8,
                                                  'global_clipnorm': 10.0}},
     'learning_rate': {'type': 'exponential', 'exponential': {
         'initial_learning_rate': 0.1, 'decay_steps': 1000, 'decay_rate': 0.96,
         'staircase': True}}},
    {'optimizer': {'type': 'lars', 'lars': {'weight_decay_rate': 1e-4,
                                            'exclude_from_weight_decay': [
                                                'batch_normalization', 'bias']}},
     'learning_rate': {'type': 'step_cosine_with_offset',
                       'step_cosine_with_offset': {'boundaries': [0, 1000],
                                                   'values': [1.0, 0.1]}},
     'warmup': {'type': 'polynomial', 'polynomial': {'warmup_steps': 50,
                                                     'power': 2.0}},
     'ema': {'average_decay': 0.999}},
    {'optimizer': {'type': 'adafactor_keras', 'adafactor_keras': {
        'relative_step': False}},
     'learning_rate': {'type': 'power_with_offset', 'power_with_offset': {
         'initial_learning_rate': 1.0, 'offset': 100}}},
]


@pytest.mark.parametrize('index', range(len(FULL_PARAMS)))
def test_optimization_config_dicts_match_tfm(index):
  params = FULL_PARAMS[index]
  ours = OptimizationConfig(params)
  assert ours.as_dict() == TfmOptimizationConfig(params).as_dict()
  # as_dict() round-trips.
  assert OptimizationConfig(ours.as_dict()) == ours


def test_empty_config_has_nothing_selected_like_tfm():
  ours, theirs = OptimizationConfig({}), TfmOptimizationConfig({})
  assert ours.as_dict() == theirs.as_dict() == {
      'optimizer': {'type': None}, 'ema': None,
      'learning_rate': {'type': None}, 'warmup': {'type': None}}
  assert ours.optimizer.get() is None and ours.learning_rate.get() is None
  assert ours.warmup.get() is None


YAML_FILES = {
    'sgd_stepwise_linear_ema': """\
# ResNet-style: SGD with momentum, stepwise decay, linear warmup and EMA.
optimizer:
  type: sgd
  sgd:
    momentum: 0.9
    nesterov: true
    global_clipnorm: 10.0
ema:
  average_decay: 0.9999
  trainable_weights_only: false
learning_rate:
  type: stepwise
  stepwise:
    boundaries: [30000, 60000, 80000]
    values: [0.8, 0.08, 0.008, 0.0008]
warmup:
  type: linear
  linear:
    warmup_steps: 5000
    warmup_learning_rate: 0
""",
    'adamw_polynomial': """\
# BERT-style: AdamW with include/exclude lists, polynomial decay.
optimizer:
  type: adamw
  adamw:
    weight_decay_rate: 0.01
    exclude_from_weight_decay: ['LayerNorm', 'layer_norm', 'bias']
    include_in_weight_decay:
      - kernel
      - embeddings
    epsilon: 1.0e-6
    gradient_clip_norm: 1.0
learning_rate:
  type: polynomial
  polynomial:
    initial_learning_rate: 1.0e-4
    decay_steps: 1000000
    end_learning_rate: 0.0
    power: 1.0
warmup:
  type: polynomial
  polynomial:
    warmup_steps: 10000
    power: 1
""",
    'lamb_cosine_offset': """\
optimizer:
  type: lamb
  lamb:
    weight_decay_rate: 0.01
    exclude_from_weight_decay: [LayerNorm, bias]
    exclude_from_layer_adaptation: [LayerNorm, bias]
learning_rate:
  type: cosine
  cosine:
    initial_learning_rate: 0.002
    decay_steps: 50000
    alpha: 0.01
    offset: 5000
warmup:
  type: linear
  linear:
    warmup_steps: 5000
""",
}


@pytest.mark.parametrize('name', list(YAML_FILES))
def test_tfm_yaml_loads_unchanged(tmp_path, name):
  path = tmp_path / f'{name}.yaml'
  path.write_text(YAML_FILES[name])
  ours = OptimizationConfig.from_yaml(str(path))
  theirs = TfmOptimizationConfig.from_yaml(str(path))
  assert ours.as_dict() == theirs.as_dict()
  assert ours.as_dict()['optimizer']['type'] == name.split('_')[0]
  OptimizerFactory(ours)  # and it is complete and valid


def test_yaml_values_arrive_as_written(tmp_path):
  path = tmp_path / 'opt.yaml'
  path.write_text(YAML_FILES['adamw_polynomial'])
  adamw = OptimizationConfig.from_yaml(str(path)).optimizer.adamw
  assert adamw.exclude_from_weight_decay == ['LayerNorm', 'layer_norm', 'bias']
  assert adamw.include_in_weight_decay == ['kernel', 'embeddings']
  assert adamw.epsilon == 1e-6 and adamw.weight_decay_rate == 0.01


# 7. Errors: at OptimizationConfig(...) time ...

OPTIMIZER_TYPES = ['adafactor', 'adafactor_keras', 'adagrad', 'adam',
                   'adam_experimental', 'adamw', 'adamw_experimental', 'lamb',
                   'lars', 'rmsprop', 'sgd', 'sgd_experimental', 'slide']
LR_TYPES = ['constant', 'cosine', 'exponential', 'polynomial', 'power',
            'power_linear', 'power_with_offset', 'step_cosine_with_offset',
            'stepwise']


def _types(oneof_cls, builtins):
  """The sorted valid types: the built-ins plus any registered by other tests."""
  options = oneof_cls.options()
  assert set(builtins) <= set(options)
  return ', '.join(sorted(options))


def _raises(params, message):
  """Asserts OptimizationConfig(params) raises ConfigError with this message."""
  with pytest.raises(ConfigError) as info:
    OptimizationConfig(params)
  assert str(info.value) == message
  assert isinstance(info.value, ValueError)
  return info.value


def test_unknown_optimizer_type():
  error = _raises({'optimizer': {'type': 'sgdd'}},
                  "optimizer.type: unknown type 'sgdd'; did you mean 'sgd'? "
                  'valid types: ' + _types(cfg.OptimizerConfig, OPTIMIZER_TYPES))
  assert error.path == ('optimizer', 'type')


def test_unknown_optimizer_type_without_close_match():
  _raises({'optimizer': {'type': 'xyzzy'}},
          "optimizer.type: unknown type 'xyzzy'; valid types: " +
          _types(cfg.OptimizerConfig, OPTIMIZER_TYPES))


def test_unknown_learning_rate_type():
  _raises({'learning_rate': {'type': 'cosin'}},
          "learning_rate.type: unknown type 'cosin'; did you mean 'cosine'? "
          'valid types: ' + _types(cfg.LrConfig, LR_TYPES))


def test_unknown_warmup_type():
  _raises({'warmup': {'type': 'linaer'}},
          "warmup.type: unknown type 'linaer'; did you mean 'linear'? "
          'valid types: ' + _types(cfg.WarmupConfig, ['linear', 'polynomial']))


@pytest.mark.parametrize('boundaries,values,got', [
    ([10, 20], [1.0, 0.1], '2 values for 2 boundaries'),
    ([10, 20], [1.0, 0.1, 0.01, 0.001], '4 values for 2 boundaries'),
    ([], [], '0 values for 0 boundaries'),
])
def test_stepwise_values_must_be_one_longer(boundaries, values, got):
  _raises({'learning_rate': {'type': 'stepwise', 'stepwise': {
      'boundaries': boundaries, 'values': values}}},
          'learning_rate.stepwise.values: must have one more entry than '
          f'boundaries; got {got}')


@pytest.mark.parametrize('boundaries,detail', [
    ([20, 10], 'boundaries[1]=10 <= boundaries[0]=20 in [20, 10]'),
    ([5, 10, 10], 'boundaries[2]=10 <= boundaries[1]=10 in [5, 10, 10]'),
])
def test_stepwise_boundaries_must_increase(boundaries, detail):
  _raises({'learning_rate': {'type': 'stepwise', 'stepwise': {
      'boundaries': boundaries, 'values': [1.0] * (len(boundaries) + 1)}}},
          f'learning_rate.stepwise.boundaries: must be strictly increasing; '
          f'{detail}')


@pytest.mark.parametrize('warmup', ['linear', 'polynomial'])
def test_negative_warmup_steps(warmup):
  _raises({'warmup': {'type': warmup, warmup: {'warmup_steps': -1}}},
          f'warmup.{warmup}.warmup_steps: must be >= 0, got -1')


@pytest.mark.parametrize('clips', [
    {'clipnorm': 1.0, 'clipvalue': 0.5},
    {'clipvalue': 0.5, 'global_clipnorm': 1.0},
])
def test_clipvalue_combines_with_a_norm_clip_as_in_keras(clips):
  params = {'optimizer': {'type': 'sgd', 'sgd': clips}}
  assert OptimizationConfig(params).as_dict() == TfmOptimizationConfig(
      params).as_dict()


def test_clipnorm_and_global_clipnorm_exclude_each_other():
  _raises({'optimizer': {'type': 'sgd', 'sgd': {'clipnorm': 1.0,
                                                'global_clipnorm': 2.0}}},
          'optimizer.sgd.global_clipnorm: cannot be set together with '
          'clipnorm (Keras refuses the pair); got clipnorm=1.0, '
          'global_clipnorm=2.0; set one to null')


def test_adamw_experimental_clipnorm_collides_with_its_default_global_clipnorm():
  _raises({'optimizer': {'type': 'adamw_experimental',
                         'adamw_experimental': {'clipnorm': 1.0}}},
          'optimizer.adamw_experimental.global_clipnorm: cannot be set '
          'together with clipnorm (Keras refuses the pair); got clipnorm=1.0, '
          'global_clipnorm=1.0; set one to null')
  # Clearing the default is the way out, as with Keras itself.
  OptimizationConfig({'optimizer': {'type': 'adamw_experimental',
                                    'adamw_experimental': {
                                        'clipnorm': 1.0,
                                        'global_clipnorm': None}}})


def test_adamw_experimental_accepts_clipvalue_beside_its_default():
  params = {'optimizer': {'type': 'adamw_experimental',
                          'adamw_experimental': {'clipvalue': 0.5}}}
  ours = OptimizationConfig(params).optimizer.adamw_experimental
  assert (ours.clipvalue, ours.global_clipnorm) == (0.5, 1.0)
  assert ours.as_dict() == TfmOptimizationConfig(
      params).optimizer.adamw_experimental.as_dict()


@pytest.mark.parametrize('key,value,shown', [
    ('clipnorm', 0, '0.0'), ('clipnorm', -1.0, '-1.0'),
    ('clipvalue', 0.0, '0.0'), ('global_clipnorm', -0.5, '-0.5')])
def test_clip_options_must_be_positive(key, value, shown):
  _raises({'optimizer': {'type': 'adam', 'adam': {key: value}}},
          f'optimizer.adam.{key}: must be > 0, got {shown}')


@pytest.mark.parametrize('kind,key', [
    ('adamw', 'include_in_weight_decay'), ('adamw', 'exclude_from_weight_decay'),
    ('lamb', 'exclude_from_layer_adaptation'),
    ('lars', 'exclude_from_weight_decay'),
    ('adafactor', 'include_in_weight_decay')])
def test_pattern_lists_take_a_single_string_like_tfm(kind, key):
  pattern = r'.*(kernel|weight):0$'
  params = {'optimizer': {'type': kind, kind: {key: pattern}}}
  ours = OptimizationConfig(params)
  assert getattr(ours.optimizer.get(), key) == pattern
  assert ours.as_dict() == TfmOptimizationConfig(params).as_dict()


def test_invalid_regex_is_reported_with_its_key():
  _raises({'optimizer': {'type': 'lamb', 'lamb': {
      'exclude_from_weight_decay': ['bias', '(layer_norm']}}},
          "optimizer.lamb.exclude_from_weight_decay: '(layer_norm' is not a "
          'valid regex: missing ), unterminated subpattern at position 0')


def test_unknown_key_in_optimizer_config():
  error = _raises({'optimizer': {'type': 'sgd', 'sgd': {'momentom': 0.9}}},
                  "optimizer.sgd.momentom: unknown key; did you mean "
                  "'momentum'? valid keys: clipnorm, clipvalue, decay, "
                  'global_clipnorm, momentum, name, nesterov')
  assert isinstance(error, KeyError)  # as in TFM


def test_unknown_key_in_unselected_choice_is_still_caught():
  _raises({'optimizer': {'type': 'sgd', 'adam': {'beta1': 0.9}}},
          "optimizer.adam.beta1: unknown key; did you mean 'beta_1'? "
          'valid keys: amsgrad, beta_1, beta_2, clipnorm, clipvalue, epsilon, '
          'global_clipnorm, name')


def test_unknown_top_level_key():
  _raises({'optimizer': {'type': 'sgd'}, 'warmups': {}},
          "warmups: unknown key; did you mean 'warmup'? valid keys: ema, "
          'learning_rate, learning_rate_scaling, optimizer, warmup')


def test_slide_is_rejected():
  _raises({'optimizer': {'type': 'slide'}},
          "optimizer.type: 'slide' is only a placeholder in TFM 2.20 and is "
          'not implemented; choose another optimizer')


def test_out_of_range_hyperparameters():
  _raises({'optimizer': {'type': 'sgd', 'sgd': {'momentum': 1.5}}},
          'optimizer.sgd.momentum: must be in [0.0, 1.0], got 1.5')
  _raises({'optimizer': {'type': 'adam', 'adam': {'beta_2': 1.0}}},
          'optimizer.adam.beta_2: must be in [0.0, 1.0), got 1.0')
  _raises({'learning_rate': {'type': 'exponential', 'exponential': {
      'initial_learning_rate': 0.1, 'decay_steps': 0, 'decay_rate': 0.5}}},
          'learning_rate.exponential.decay_steps: must be > 0, got 0')


def test_ema_rules_are_checked_with_the_rest():
  _raises({'ema': {'average_decay': 1.5}},
          'ema.average_decay: must be in [0.0, 1.0], got 1.5')
  _raises({'ema': {'start_step': -1}},
          'ema.start_step: must be >= 0, got -1')


def test_failed_override_leaves_config_unchanged():
  config = OptimizationConfig({'optimizer': {'type': 'sgd',
                                             'sgd': {'momentum': 0.9}}})
  before = config.as_dict()
  with pytest.raises(ConfigError, match=r'^optimizer\.sgd\.global_clipnorm: '):
    config.override({'optimizer': {'sgd': {'momentum': 0.5, 'clipnorm': 1.0,
                                            'global_clipnorm': 1.0}}})
  assert config.as_dict() == before


# ... or at OptimizerFactory(...) time: what a draft may still lack.


def _factory_raises(params, message):
  config = OptimizationConfig(params)  # fine as a partial config
  with pytest.raises(ConfigError) as info:
    OptimizerFactory(config)
  assert str(info.value) == message
  assert isinstance(info.value, ValueError)


def test_drafts_with_missing_required_fields_build_like_tfm():
  """TFM's own example: empty schedule and warmup settings, filled in later."""
  params = {'optimizer': {'type': 'sgd', 'sgd': {}},
            'learning_rate': {'type': 'polynomial', 'polynomial': {}},
            'warmup': {'type': 'linear'}}
  ours = OptimizationConfig(params)
  assert ours.as_dict() == TfmOptimizationConfig(params).as_dict()
  assert ours.learning_rate.get() == lr_cfg.PolynomialLrConfig()
  ours.override({'learning_rate': {'polynomial': {
      'initial_learning_rate': 0.1, 'decay_steps': 100}},
                 'warmup': {'linear': {'warmup_steps': 10}}})
  OptimizerFactory(ours)


def test_a_complete_component_is_checked_at_override_time():
  _raises({'learning_rate': {'type': 'polynomial', 'polynomial': {
      'initial_learning_rate': 0.1, 'decay_steps': -5}}},
          'learning_rate.polynomial.decay_steps: must be > 0, got -5')


def test_cosine_without_decay_steps():
  _factory_raises({'optimizer': {'type': 'sgd'},
                   'learning_rate': {'type': 'cosine',
                                     'cosine': {'initial_learning_rate': 0.1}}},
                  "learning_rate.cosine.decay_steps: is required by the "
                  "'CosineDecay' schedule")


def test_cosine_without_initial_learning_rate():
  # The cosine example of TFM's optimization page omits it; TFM only fails
  # inside TensorFlow when the rate is first computed.
  _factory_raises({'optimizer': {'type': 'sgd'},
                   'learning_rate': {'type': 'cosine',
                                     'cosine': {'decay_steps': 20000}},
                   'warmup': {'type': 'linear',
                              'linear': {'warmup_steps': 500}}},
                  'learning_rate.cosine.initial_learning_rate: is required by '
                  "the 'CosineDecay' schedule")


def test_stepwise_without_values():
  _factory_raises({'optimizer': {'type': 'sgd'},
                   'learning_rate': {'type': 'stepwise',
                                     'stepwise': {'boundaries': [10]}}},
                  'learning_rate.stepwise.values: is required by the '
                  "'PiecewiseConstantDecay' schedule")


def test_warmup_without_steps():
  _factory_raises({'optimizer': {'type': 'sgd'},
                   'learning_rate': {'type': 'constant'},
                   'warmup': {'type': 'linear'}},
                  "warmup.linear.warmup_steps: is required by the 'linear' "
                  'schedule')


def test_missing_optimizer_type_at_factory_time():
  _factory_raises(
      {'learning_rate': {'type': 'constant'}},
      'optimizer.type: must be set; valid types: ' +
      _types(cfg.OptimizerConfig, OPTIMIZER_TYPES))


def test_missing_learning_rate_type_at_factory_time():
  _factory_raises(
      {'optimizer': {'type': 'sgd', 'sgd': {'momentum': 0.9}}},
      'learning_rate.type: must be set; valid types: ' +
      _types(cfg.LrConfig, LR_TYPES))


def test_rules_broken_after_construction_are_caught_by_the_factory():
  config = OptimizationConfig({'optimizer': {'type': 'sgd'},
                               'learning_rate': {'type': 'constant'}})
  config.optimizer.sgd.clipnorm = 1.0
  config.optimizer.sgd.global_clipnorm = 1.0  # not cross-checked on assignment
  with pytest.raises(ConfigError, match=re.escape(
      'optimizer.sgd.global_clipnorm: cannot be set together with clipnorm')):
    OptimizerFactory(config)


def test_factory_needs_our_config():
  with pytest.raises(TypeError, match='OptimizerFactory expects an '
                     'OptimizationConfig, got dict'):
    OptimizerFactory({'optimizer': {'type': 'sgd'}})


def test_configs_import_without_tensorflow():
  """Experiment definitions and YAML tools need the configs, not TensorFlow."""
  code = textwrap.dedent('''\
      import sys
      from official_like.modeling.optimization import OptimizationConfig
      from official_like.modeling.optimization import configs
      from official_like.modeling.optimization.configs import rules
      OptimizationConfig({'optimizer': {'type': 'sgd'}})
      assert 'tensorflow' not in sys.modules, 'configs imported tensorflow'
      from official_like.modeling import optimization
      assert optimization.OptimizerFactory.__name__ == 'OptimizerFactory'
      assert optimization.LinearWarmup.__name__ == 'LinearWarmup'
      assert 'tensorflow' in sys.modules
      ''')
  subprocess.run([sys.executable, '-c', code], cwd=ROOT, check=True,
                 timeout=300)
