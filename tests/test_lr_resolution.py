"""Schedule lengths tied to train_steps, batch-scaled rates, and the all-zero plan error.

All through `experiment_parser.parse_configuration`, the TensorFlow-free
step `trainer_main.py` takes before anything else; the factory's refusal
of an unresolved config is checked on its own.
"""
import logging
import math
import subprocess
import sys
import textwrap

import pytest

import experiments  # noqa: F401  (registers the experiments)
from official_like.core import experiment_parser
from official_like.modeling.hyperparams import ConfigError
from official_like.modeling.optimization import OptimizationConfig
from official_like.modeling.optimization import OptimizerFactory
from official_like.modeling.optimization import lr_resolution

OPT = 'trainer.optimizer_config'


def parse(override, experiment='digits_mlp', config_file=()):
  return experiment_parser.parse_configuration(experiment_parser.ParseConfigOptions(
      experiment=experiment, config_file=list(config_file), params_override=override),
      print_return=False)


def test_minus_one_ties_decay_to_train_steps_and_is_logged(caplog):
  with caplog.at_level(logging.INFO):
    params = parse(f'{OPT}.learning_rate.cosine.decay_steps=-1,trainer.train_steps=4000',
                   experiment='digits_cnn')
  assert params.trainer.optimizer_config.learning_rate.cosine.decay_steps == 4000
  assert (f'Learning rate resolved: {OPT}.learning_rate.cosine.decay_steps: -1 -> 4000 '
          '(trainer.train_steps 4000)') in caplog.text
  assert 'decay_steps: 4000' in params.as_yaml()


def test_minus_one_ends_the_schedule_with_the_run_after_its_offset():
  params = parse(f'{OPT}.learning_rate.type=linear,{OPT}.learning_rate.linear.'
                 f'initial_learning_rate=0.1,{OPT}.learning_rate.linear.decay_steps=-1,'
                 f'{OPT}.learning_rate.linear.offset=100,trainer.train_steps=700')
  assert params.trainer.optimizer_config.learning_rate.linear.decay_steps == 600
  params = parse(f'{OPT}.learning_rate.type=one_cycle,{OPT}.learning_rate.one_cycle.'
                 f'max_learning_rate=0.1,{OPT}.learning_rate.one_cycle.decay_steps=-1')
  assert params.trainer.optimizer_config.learning_rate.one_cycle.decay_steps == 600


def test_minus_one_is_the_only_non_positive_length():
  with pytest.raises(ConfigError, match=r'learning_rate\.cosine\.decay_steps: must be > 0, '
                     'got -2'):
    parse(f'{OPT}.learning_rate.cosine.decay_steps=-2')
  with pytest.raises(ConfigError, match=r'warmup\.linear\.warmup_steps: must be >= 0'):
    parse(f'{OPT}.warmup.linear.warmup_steps=-1')


def test_factory_refuses_what_was_not_resolved():
  config = OptimizationConfig({
      'optimizer': {'type': 'sgd'},
      'learning_rate': {'type': 'cosine', 'cosine': {'initial_learning_rate': 0.1,
                                                     'decay_steps': -1}}})
  with pytest.raises(ConfigError, match=r'^learning_rate\.cosine\.decay_steps: is -1 '
                     r'\("end with trainer\.train_steps"\), which is replaced'):
    OptimizerFactory(config)
  lr_resolution.resolve(config, 300, 32)
  config.override({'learning_rate_scaling': {'base_batch_size': 16}})
  with pytest.raises(ConfigError, match='^learning_rate_scaling: the rates are not scaled'):
    OptimizerFactory(config)
  lr_resolution.resolve(config, 300, 32)
  OptimizerFactory(config)


@pytest.mark.parametrize('rule,factor', [('linear', 4.0), ('sqrt', 2.0)])
def test_scaling_multiplies_every_absolute_rate_of_schedule_and_warmup(rule, factor):
  scaling = f'{OPT}.learning_rate_scaling.type={rule},{OPT}.learning_rate_scaling.base_batch_size=16'
  params = parse(f'{scaling},{OPT}.warmup.linear.warmup_learning_rate=0.01')
  config = params.trainer.optimizer_config
  assert config.learning_rate.cosine.initial_learning_rate == pytest.approx(0.1 * factor)
  assert config.warmup.linear.warmup_learning_rate == pytest.approx(0.01 * factor)
  assert config.learning_rate.cosine.alpha == 0.0  # relative: untouched
  assert config.learning_rate_scaling.resolved_batch_size == 64
  stepwise = parse(f'{scaling},{OPT}.learning_rate.type=stepwise,{OPT}.learning_rate.'
                   'stepwise.boundaries=[100,400],'
                   f'{OPT}.learning_rate.stepwise.values=[0.1,0.01,0.001]')
  assert stepwise.trainer.optimizer_config.learning_rate.stepwise.values == pytest.approx(
      [0.1 * factor, 0.01 * factor, 0.001 * factor])
  cycle = parse(f'{scaling},{OPT}.learning_rate.type=one_cycle,{OPT}.learning_rate.one_cycle.'
                f'max_learning_rate=0.1,{OPT}.learning_rate.one_cycle.decay_steps=600')
  one_cycle = cycle.trainer.optimizer_config.learning_rate.one_cycle
  assert one_cycle.max_learning_rate == pytest.approx(0.1 * factor)
  assert (one_cycle.div_factor, one_cycle.final_div_factor) == (25.0, 1e4)


def test_scaling_is_logged_and_never_applied_twice(tmp_path, caplog):
  with caplog.at_level(logging.INFO):
    params = parse(f'{OPT}.learning_rate_scaling.base_batch_size=32')
  assert (f'{OPT}.learning_rate.cosine.initial_learning_rate: 0.1 -> 0.2 (linear scaling '
          'x2: global batch 64, base 32)') in caplog.text
  assert experiment_parser.resolve_learning_rate(params) == []  # as the runner does again
  # params.yaml given back, e.g. to resume: the rates are already scaled for batch 64 ...
  written = tmp_path / 'params.yaml'
  written.write_text(params.as_yaml())
  again = parse('', config_file=[str(written)])
  assert again.trainer.optimizer_config.as_dict() == params.trainer.optimizer_config.as_dict()
  # ... and a new batch scales only by the change.
  bigger = parse('task.train_data.global_batch_size=256', config_file=[str(written)])
  assert bigger.trainer.optimizer_config.learning_rate.cosine.initial_learning_rate == (
      pytest.approx(0.8))


def test_scaling_absent_by_default_and_out_of_the_yaml():
  params = parse('')
  assert params.trainer.optimizer_config.learning_rate_scaling is None
  assert 'learning_rate_scaling' not in params.as_yaml()
  sqrt = parse(f'{OPT}.learning_rate_scaling.type=sqrt,'
               f'{OPT}.learning_rate_scaling.base_batch_size=48')
  assert sqrt.trainer.optimizer_config.learning_rate.cosine.initial_learning_rate == (
      pytest.approx(0.1 * math.sqrt(64 / 48)))
  assert 'learning_rate_scaling:\n      type: sqrt\n      base_batch_size: 48\n' \
      '      resolved_batch_size: 64' in sqrt.as_yaml()


@pytest.mark.parametrize('override,key', [
    # The cases: a warmup longer than the run, ending after the decay ...
    (f'{OPT}.warmup.linear.warmup_steps=1000', f'{OPT}.warmup.linear.warmup_steps'),
    # ... a decay over before the warmup ends ...
    (f'{OPT}.learning_rate.cosine.decay_steps=50', f'{OPT}.learning_rate.cosine.decay_steps'),
    # ... and a rate of 0.
    (f'{OPT}.learning_rate.cosine.initial_learning_rate=0',
     f'{OPT}.learning_rate.cosine.initial_learning_rate'),
])
def test_a_plan_at_zero_for_the_whole_run_is_an_error(override, key):
  with pytest.raises(ConfigError) as error:
    parse(override)
  assert str(error.value).startswith(f'{key}: the planned learning rate is 0 at every one '
                                     'of the 600 steps (trainer.train_steps)')


def test_a_plan_at_zero_for_most_of_the_run_is_not_an_error():
  parse('trainer.train_steps=4000', experiment='digits_cnn')  # lr_lint warns instead


def test_resolution_needs_no_tensorflow():
  code = textwrap.dedent(f'''
      import sys
      import experiments
      from official_like.core import experiment_parser
      options = experiment_parser.ParseConfigOptions(
          experiment='digits_mlp', config_file=[],
          params_override='{OPT}.learning_rate.cosine.decay_steps=-1,'
                          '{OPT}.learning_rate_scaling.base_batch_size=32')
      experiment_parser.parse_configuration(options)
      try:
        experiment_parser.parse_configuration(experiment_parser.ParseConfigOptions(
            experiment='digits_mlp', config_file=[],
            params_override='{OPT}.warmup.linear.warmup_steps=1000'))
      except ValueError:
        pass
      assert 'tensorflow' not in sys.modules, 'TensorFlow was imported'
  ''')
  result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          check=False, timeout=120)
  assert result.returncode == 0, result.stderr[-2000:]
