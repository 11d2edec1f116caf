"""Child: trains the digits MLP for a fixed number of steps with `ours` or `tfm`.

The same model, data pipeline, losses and optimizer config are used on both
sides: TFM's Trainer drives a thin TFM Task that delegates to our digits
task's builders, so only the training core differs.
"""
import sys
import tempfile
import time

from _child import report

import tensorflow as tf  # pylint: disable=g-import-not-at-top

import experiments  # noqa: F401 pylint: disable=unused-import
from official_like.core import exp_factory
from official_like.core import task_factory
from official_like.core import train_lib

STEPS = int(sys.argv[2]) if len(sys.argv) > 2 else 1000


def ours(params, strategy, model_dir):
  with strategy.scope():
    task = task_factory.get_task(params.task)
  train_lib.run_experiment(strategy, task, 'train', params, model_dir)


def tfm(params, strategy, model_dir):
  from official.core import base_task  # pylint: disable=g-import-not-at-top
  from official.core import config_definitions  # pylint: disable=g-import-not-at-top
  from official.core import train_lib as tfm_train_lib  # pylint: disable=g-import-not-at-top

  ours_task = task_factory.get_task(params.task)

  class TfmDigitsTask(base_task.Task):
    build_model = staticmethod(ours_task.build_model)
    build_losses = staticmethod(ours_task.build_losses)
    build_metrics = staticmethod(ours_task.build_metrics)

    def build_inputs(self, data_params, input_context=None):
      del data_params
      return ours_task.build_inputs(params.task.train_data, input_context)

  tfm_params = config_definitions.ExperimentConfig(
      task=config_definitions.TaskConfig(),
      trainer=config_definitions.TrainerConfig(
          params.trainer.as_dict() | {'best_checkpoint_export_subdir': '',
                                      'best_checkpoint_eval_metric': ''}),
      runtime=config_definitions.RuntimeConfig(params.runtime.as_dict()))
  with strategy.scope():
    task = TfmDigitsTask(tfm_params.task)
  tfm_train_lib.run_experiment(strategy, task, 'train', tfm_params, model_dir)


def main():
  params = exp_factory.get_exp_config('digits_mlp')
  params.override({'trainer': {'train_steps': STEPS, 'checkpoint_interval': STEPS,
                               'best_checkpoint_export_subdir': ''}})
  strategy = tf.distribute.OneDeviceStrategy('/cpu:0')
  with tempfile.TemporaryDirectory() as model_dir:
    start = time.perf_counter()
    {'ours': ours, 'tfm': tfm}[sys.argv[1]](params, strategy, model_dir)
    seconds = time.perf_counter() - start
  report({'seconds': seconds, 'steps_per_second': STEPS / seconds})


if __name__ == '__main__':
  main()
