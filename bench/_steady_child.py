"""Child of `steady_state.py`: trains one job with one variant and reports loop ends.

`python bench/_steady_child.py VARIANT JOB STEPS`, where VARIANT is one of
`VARIANTS` and JOB is 'mlp' or 'cnn'. The last stdout line is JSON with
`loop_ends` - (time.monotonic(), global step, process CPU seconds) after
every loop of `STEPS_PER_LOOP` steps - `started`, the time.monotonic() when
the variant starts building (TensorFlow and the digits data are imported by
then), and the peak RSS. CLOCK_MONOTONIC is system-wide,
so the parent can subtract its own spawn time from the first loop end to get
the cold start.

All variants train the same Keras model on the same `tf.data` pipeline (our
digits task builds both) with the same optimizer settings; only the loop
around the step differs. The digits experiments set `runtime.seed`, so b
builds its model seeded (TF-Keras's generator-backed dropout, whose state a
checkpoint holds); a and c build theirs the same way, so the step is the
same computation everywhere:
  raw         a hand-written `tf.function` over 100 steps: the limit;
  ours_*      official_like's `train_lib.run_experiment`, as trainer_main.py
              calls it, with the 'one_device' or the default strategy;
  tfm_*       TF Model Garden's `run_experiment` with a TFM Task that
              delegates model, data, loss and metric to ours.
"""
import os
import sys
import tempfile
import time

from _child import report
import _loops

from absl import logging

import experiments  # noqa: F401 pylint: disable=unused-import  (registers configs)
from official_like.core import exp_factory
from official_like.core import task_factory
from official_like.run import seeding

VARIANTS = ('raw', 'ours_one_device', 'ours_default', 'tfm_one_device', 'tfm_default')
STEPS_PER_LOOP = 100
WARMUP_STEPS = 100
BATCH_SIZE = 64
JOBS = {  # experiment, model override, peak learning rate
    'mlp': ('digits_mlp', {'type': 'mlp', 'mlp': {'hidden_sizes': [256, 256]}}, 0.1),
    'cnn': ('digits_cnn', {'type': 'cnn', 'cnn': {'filters': [32, 64]}}, 0.05),
}


def trainer_dict(job: str, steps: int) -> dict:
  """Trainer settings shared by ours and TFM: one checkpoint, at the end."""
  return {'train_steps': steps, 'steps_per_loop': STEPS_PER_LOOP,
          'summary_interval': STEPS_PER_LOOP, 'checkpoint_interval': steps,
          'max_to_keep': 1, 'best_checkpoint_export_subdir': '',
          'optimizer_config': _loops.sgd_cosine(JOBS[job][2], steps, WARMUP_STEPS)}


def job_params(job: str, steps: int, strategy: str = 'one_device'):
  """The official_like ExperimentConfig of `job`."""
  name, model, _ = JOBS[job]
  params = exp_factory.get_exp_config(name)
  params.override({
      'task': {'model': model, 'train_data': {'global_batch_size': BATCH_SIZE}},
      'trainer': trainer_dict(job, steps),
      'runtime': {'distribution_strategy': strategy}})
  return params


def seeded_model(task, params):
  """The model as `train_utils.create_trainer` builds it for b."""
  with seeding.seeded(params.runtime.seed):
    return task.build_model()


def seeded_data(params):
  return seeding.with_data_seed(params.task.train_data, params.runtime.seed)


def build_raw(job: str, steps: int):
  """The limit: model, data and factory optimizer in `_loops.raw_loop`; returns one loop."""
  from official_like.modeling import optimization  # pylint: disable=g-import-not-at-top
  params = job_params(job, steps)
  task = task_factory.get_task(params.task)
  model = seeded_model(task, params)
  factory = optimization.OptimizerFactory(params.trainer.optimizer_config)
  optimizer = factory.build_optimizer(factory.build_learning_rate())
  iterator = iter(task.build_inputs(seeded_data(params)))
  return _loops.raw_loop(model, optimizer, iterator, STEPS_PER_LOOP)


def run_raw(job: str, steps: int) -> list:
  return _loops.run_loops(build_raw(job, steps), steps, STEPS_PER_LOOP)


def run_ours(job: str, steps: int, strategy_name: str, model_dir: str) -> list:
  """official_like's run_experiment, called the way trainer_main.py calls it."""
  from official_like.common import cli_logging  # pylint: disable=g-import-not-at-top
  from official_like.common import distribute_utils  # pylint: disable=g-import-not-at-top
  from official_like.core import train_lib  # pylint: disable=g-import-not-at-top
  from official_like.core import base_trainer  # pylint: disable=g-import-not-at-top
  cli_logging.one_line_per_event()
  params = job_params(job, steps, strategy_name)
  runtime = params.runtime
  strategy = distribute_utils.get_distribution_strategy(
      distribution_strategy=runtime.distribution_strategy, num_gpus=runtime.num_gpus)
  with strategy.scope():
    task = task_factory.get_task(params.task, logging_dir=model_dir)
  final = {}
  with _loops.recording(base_trainer.Trainer) as recorder:
    train_lib.run_experiment(distribution_strategy=strategy, task=task, mode='train',
                             params=params, model_dir=model_dir,
                             train_actions=[recorder], eval_actions=[final.update])
  return recorder.ends


def run_tfm(job: str, steps: int, strategy_name: str, model_dir: str) -> list:
  """TFM's run_experiment with a TFM Task over the same model, data and loss."""
  from official.common import distribute_utils  # pylint: disable=g-import-not-at-top
  from official.core import base_task  # pylint: disable=g-import-not-at-top
  from official.core import base_trainer  # pylint: disable=g-import-not-at-top
  from official.core import config_definitions  # pylint: disable=g-import-not-at-top
  from official.core import train_lib  # pylint: disable=g-import-not-at-top
  ours_params = job_params(job, steps)
  ours_task = task_factory.get_task(ours_params.task)

  class TfmDigitsTask(base_task.Task):
    """Builds exactly what our digits task builds; TFM's train_step runs it."""

    def build_model(self):
      return seeded_model(ours_task, ours_params)

    def build_inputs(self, params, input_context=None):
      del params
      return ours_task.build_inputs(seeded_data(ours_params), input_context)

    def build_losses(self, labels, model_outputs, aux_losses=None):
      return ours_task.build_losses(labels, model_outputs, aux_losses)

    def build_metrics(self, training=True):
      return ours_task.build_metrics(training)

  trainer = dict(trainer_dict(job, steps), best_checkpoint_eval_metric='')
  params = config_definitions.ExperimentConfig(
      task=config_definitions.TaskConfig(
          train_data=config_definitions.DataConfig(global_batch_size=BATCH_SIZE,
                                                   is_training=True)),
      trainer=config_definitions.TrainerConfig(trainer),
      runtime=config_definitions.RuntimeConfig(distribution_strategy=strategy_name))
  strategy = distribute_utils.get_distribution_strategy(
      distribution_strategy=strategy_name, num_gpus=0)
  with strategy.scope():
    task = TfmDigitsTask(params.task, logging_dir=model_dir)
  with _loops.recording(base_trainer.Trainer) as recorder:
    train_lib.run_experiment(distribution_strategy=strategy, task=task, mode='train',
                             params=params, model_dir=model_dir,
                             train_actions=[recorder])
  return recorder.ends


def main(variant: str, job: str, steps: str) -> None:
  logging.set_verbosity(logging.INFO)  # As trainer_main.py runs.
  steps, started = int(steps), time.monotonic()
  with tempfile.TemporaryDirectory() as model_dir:
    model_dir = os.path.join(model_dir, 'run')
    if variant == 'raw':
      ends = run_raw(job, steps)
    else:
      library, strategy = variant.split('_', 1)
      strategy = 'off' if strategy == 'default' else strategy
      run = {'ours': run_ours, 'tfm': run_tfm}[library]
      ends = run(job, steps, strategy, model_dir)
  report({'variant': variant, 'job': job, 'loop_ends': ends, 'started': started})


if __name__ == '__main__':
  main(*sys.argv[1:])
