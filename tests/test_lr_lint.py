"""Start-up warnings about a learning-rate plan that does not fit train_steps.

The cases are the issue's (digits_cnn trained for 4000 steps, its decay
still 600) and one per rule; the end-to-end case reads the warning from the
log of a real `run_experiment`.
"""
import logging

import pytest
import tensorflow as tf

import experiments  # noqa: F401  (registers the experiments)
from official_like.core import exp_factory
from official_like.core import experiment_parser
from official_like.core import task_factory
from official_like.core import train_lib
from official_like.modeling.optimization import lr_lint
from official_like.run import lr_plan

OPT = 'trainer.optimizer_config'


def warnings_for(override, experiment='digits_mlp'):
  params = experiment_parser.parse_configuration(experiment_parser.ParseConfigOptions(
      experiment=experiment, config_file=[], params_override=override), print_return=False)
  curve = lr_plan.planned_curve(params.trainer.optimizer_config, params.trainer.train_steps)
  return lr_lint.lint(curve, params.trainer.summary_interval)


def test_the_bundled_experiments_fit():
  assert warnings_for('') == []
  assert warnings_for('', experiment='digits_cnn') == []


def test_longer_training_with_the_old_decay():
  lines = warnings_for('trainer.train_steps=4000', experiment='digits_cnn')
  assert lines == [
      f'{OPT}.learning_rate.cosine.decay_steps=600: the decay ends at step 600, well '
      'before trainer.train_steps=4000; the last 3400 steps stay at its final rate; set '
      'decay_steps: -1 to end it with the run',
      'the learning rate is below 0.001 x its peak (0.04665) from step 592 on: the last '
      f'3408 of 4000 steps (85%) barely train; check trainer.train_steps against '
      f'{OPT}.learning_rate.cosine']


def test_decay_that_outlasts_the_run():
  assert warnings_for(f'{OPT}.learning_rate.cosine.decay_steps=2000') == [
      f'{OPT}.learning_rate.cosine.decay_steps=2000: the decay ends at step 2000, well '
      'after trainer.train_steps=600; training stops 30% of the way through it; set '
      'decay_steps: -1 to end it with the run']


def test_warmup_longer_than_the_run():
  lines = warnings_for(f'{OPT}.learning_rate.cosine.decay_steps=2000,'
                       f'{OPT}.warmup.linear.warmup_steps=800')
  assert (f'{OPT}.warmup.linear.warmup_steps=800 is longer than trainer.train_steps=600: '
          'the run ends inside the warmup, before the schedule starts') in lines


def test_boundaries_beyond_the_run():
  lines = warnings_for(f'{OPT}.learning_rate.type=stepwise,'
                       f'{OPT}.learning_rate.stepwise.boundaries=[300,700,900],'
                       f'{OPT}.learning_rate.stepwise.values=[0.1,0.01,0.001,0.0001]')
  assert lines == [f'{OPT}.learning_rate.stepwise.boundaries: [700, 900] lie at or beyond '
                   'trainer.train_steps=600; the last 2 value(s) are never used']


def test_summary_interval_that_hides_the_warmup():
  lines = warnings_for('trainer.summary_interval=200,trainer.steps_per_loop=50')
  assert lines == [
      f'{OPT}.warmup.linear.warmup_steps=100 is shorter than trainer.summary_interval=200: '
      'the train run logs no point of it; the whole curve is in the TensorBoard run '
      'lr_schedule (and trainer_main.py --mode=lr_preview)']


def test_rate_near_zero_long_before_the_end():
  lines = warnings_for(f'{OPT}.learning_rate.type=exponential,'
                       f'{OPT}.learning_rate.exponential.initial_learning_rate=0.1,'
                       f'{OPT}.learning_rate.exponential.decay_steps=20,'
                       f'{OPT}.learning_rate.exponential.decay_rate=0.5')
  assert len(lines) == 1 and lines[0].startswith(
      'the learning rate is below 0.001 x its peak (0.003125) from step 300 on: the last 300 '
      'of 600 steps (50%) barely train')


def test_warnings_are_logged_when_training_starts(tmp_path, caplog):
  params = exp_factory.get_exp_config('digits_mlp')
  params.override({'trainer': {'train_steps': 60, 'steps_per_loop': 20,
                               'summary_interval': 20}})
  with tf.distribute.get_strategy().scope():
    task = task_factory.get_task(params.task)
  with caplog.at_level(logging.WARNING):
    train_lib.run_experiment(tf.distribute.get_strategy(), task, 'train', params,
                             str(tmp_path))
  plan = [r.getMessage() for r in caplog.records
          if r.getMessage().startswith('Learning rate plan: ')]
  assert plan == [
      f'Learning rate plan: {OPT}.learning_rate.cosine.decay_steps=600: the decay ends at '
      'step 600, well after trainer.train_steps=60; training stops 10% of the way through '
      'it; set decay_steps: -1 to end it with the run',
      f'Learning rate plan: {OPT}.warmup.linear.warmup_steps=100 is longer than '
      'trainer.train_steps=60: the run ends inside the warmup, before the schedule starts']


@pytest.mark.parametrize('kind', ['polynomial', 'wsd', 'linear', 'one_cycle'])
def test_minus_one_silences_the_length_warning(kind):
  rate = 'max_learning_rate' if kind == 'one_cycle' else 'initial_learning_rate'
  lines = warnings_for(f'trainer.train_steps=3000,{OPT}.learning_rate.type={kind},'
                       f'{OPT}.learning_rate.{kind}.{rate}=0.1,'
                       f'{OPT}.learning_rate.{kind}.decay_steps=-1')
  assert not [line for line in lines if 'the decay ends' in line]


def test_boundaries_count_from_the_offset():
  lines = warnings_for(f'{OPT}.learning_rate.type=stepwise,'
                       f'{OPT}.learning_rate.stepwise.boundaries=[300,500],'
                       f'{OPT}.learning_rate.stepwise.values=[0.1,0.01,0.001],'
                       f'{OPT}.learning_rate.stepwise.offset=200')
  assert lines == [f'{OPT}.learning_rate.stepwise.boundaries: [500] lies at or beyond '
                   'trainer.train_steps=600 (with offset 200); the last 1 value(s) are '
                   'never used']


@pytest.mark.parametrize('decay_steps, offset, warned', [
    (200, 200, False),  # Ends at 400: fits, although 200 alone would be early.
    (700, 300, True),  # Ends at 1000: late, although 700 alone would fit.
])
def test_decay_end_counts_from_the_offset(decay_steps, offset, warned):
  lines = warnings_for(f'{OPT}.learning_rate.cosine.decay_steps={decay_steps},'
                       f'{OPT}.learning_rate.cosine.offset={offset}')
  ends = [line for line in lines if 'the decay ends' in line]
  assert ends == ([f'{OPT}.learning_rate.cosine.decay_steps={decay_steps} (offset {offset}): '
                   f'the decay ends at step {decay_steps + offset}, well after '
                   'trainer.train_steps=600; training stops 60% of the way through it; set '
                   'decay_steps: -1 to end it with the run'] if warned else [])
