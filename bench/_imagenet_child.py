"""Child of `imagenet_shaped.py`: trains the ImageNet-shaped task with one variant.

`python bench/_imagenet_child.py VARIANT SETTINGS_JSON`, VARIANT one of
`VARIANTS`; SETTINGS_JSON holds `input_path`, `image_size`, `batch_size`,
`steps`, `steps_per_loop`, `model_id`, `num_classes`, `strategy`. The last
stdout line is JSON: `loop_ends` as in `_steady_child.py`, `started` (TF
imported, the variant's own imports and building to come), `saves`
[(seconds, bytes)] of every checkpoint, and the peak RSS.

  raw   a hand-written `tf.function` loop over the task's dataset and model,
        with the task's optimizer (TFM's core, imported plainly);
  ours  official_like's `train_lib.run_experiment` on `imagenet_shaped_task`
        imported after `tfm_redirect.install()`: TFM's names, our core;
  tfm   TFM's `run_experiment` on the same task module on TFM's core.
"""
import json
import os
import sys
import tempfile
import time

from _child import report
import _loops

from absl import logging

VARIANTS = ('raw', 'ours', 'tfm')
PEAK_LEARNING_RATE = 0.1


def experiment(settings: dict):
  """The ExperimentConfig of whichever core `official.core` names now."""
  from official.core import config_definitions  # pylint: disable=g-import-not-at-top
  import imagenet_shaped_task  # pylint: disable=g-import-not-at-top
  steps = settings['steps']
  data = config_definitions.DataConfig(
      input_path=settings['input_path'], global_batch_size=settings['batch_size'],
      is_training=True, shuffle_buffer_size=10000, seed=imagenet_shaped_task.SEED)
  task = imagenet_shaped_task.ImageNetShapedConfig(
      train_data=data, image_size=settings['image_size'],
      num_classes=settings['num_classes'], model_id=settings['model_id'])
  trainer = config_definitions.TrainerConfig({
      'train_steps': steps, 'steps_per_loop': settings['steps_per_loop'],
      'summary_interval': settings['steps_per_loop'], 'checkpoint_interval': steps,
      'max_to_keep': 1, 'best_checkpoint_export_subdir': '',
      'best_checkpoint_eval_metric': '',
      'optimizer_config': _loops.sgd_cosine(PEAK_LEARNING_RATE, steps,
                                            settings['steps_per_loop'])})
  runtime = config_definitions.RuntimeConfig(distribution_strategy=settings['strategy'])
  return config_definitions.ExperimentConfig(task=task, trainer=trainer, runtime=runtime)


def run_raw(settings: dict) -> list:
  import imagenet_shaped_task  # pylint: disable=g-import-not-at-top
  params = experiment(settings)
  task = imagenet_shaped_task.ImageNetShapedTask(params.task)
  model = task.build_model()
  optimizer = task.create_optimizer(params.trainer.optimizer_config, params.runtime)
  iterator = iter(task.build_inputs(params.task.train_data))
  one_loop = _loops.raw_loop(model, optimizer, iterator, settings['steps_per_loop'])
  return _loops.run_loops(one_loop, settings['steps'], settings['steps_per_loop'])


def run_trainer(settings: dict, model_dir: str) -> list:
  """`run_experiment` of the core `official.core` names (ours after the redirect)."""
  # pylint: disable=g-import-not-at-top
  from official.common import distribute_utils
  from official.core import base_trainer
  from official.core import train_lib
  import imagenet_shaped_task
  # pylint: enable=g-import-not-at-top
  params = experiment(settings)
  strategy = distribute_utils.get_distribution_strategy(
      distribution_strategy=settings['strategy'], num_gpus=0)
  with strategy.scope():
    task = imagenet_shaped_task.ImageNetShapedTask(params.task, logging_dir=model_dir)
  with _loops.recording(base_trainer.Trainer) as recorder:
    train_lib.run_experiment(distribution_strategy=strategy, task=task, mode='train',
                             params=params, model_dir=model_dir, train_actions=[recorder])
  return recorder.ends


def main(variant: str, settings: str) -> None:
  logging.set_verbosity(logging.INFO)  # As trainer_main.py runs.
  settings, started = json.loads(settings), time.monotonic()
  if variant == 'ours':
    from official_like.common import tfm_redirect  # pylint: disable=g-import-not-at-top
    tfm_redirect.install()
  with tempfile.TemporaryDirectory() as model_dir, _loops.timed_saves() as saves:
    if variant == 'raw':
      ends = run_raw(settings)
    else:
      ends = run_trainer(settings, os.path.join(model_dir, 'run'))
  report({'variant': variant, 'loop_ends': ends, 'started': started, 'saves': saves})


if __name__ == '__main__':
  main(*sys.argv[1:])
