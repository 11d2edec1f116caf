"""Trains or evaluates a registered experiment: `trainer_main.py --experiment=NAME ...`.

Config precedence, lowest first: the experiment's defaults, each
`--config_file` in order, `--tpu`/`--num_gpus`, then `--params_override`.
Every flag and config value is checked before TensorFlow builds anything;
a bad one ends the run with a one-line error and exit code 2.
"""
import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import flags
from absl import logging
import gin

from official_like.common import flags as tfm_flags
from official_like.core import experiment_parser
from official_like.modeling.hyperparams import ConfigError

FLAGS = flags.FLAGS


def parse_gin() -> None:
  for path in FLAGS.gin_file or []:
    if not os.path.isfile(path):
      raise ConfigError(('--gin_file',), f'file not found: {path!r}')
  try:
    gin.parse_config_files_and_bindings(FLAGS.gin_file, FLAGS.gin_params)
  except (ValueError, KeyError, TypeError, SyntaxError) as e:
    raise ConfigError(('--gin_file/--gin_params',), str(e).splitlines()[0]) from e


def prepare():
  """Checks every flag and value, then builds the strategy: (params, strategy).

  Strategy errors (an unreachable TPU, too many GPUs) and batch sizes that do
  not split over the replicas are reported like config errors, before any
  file is written.
  """
  if not FLAGS.model_dir:
    raise ConfigError(('--model_dir',), 'is required: the directory for '
                      'checkpoints, summaries and params.yaml')
  # The library's gin configurables must exist before bindings are checked.
  from official_like.core import train_lib  # pylint: disable=g-import-not-at-top,unused-import
  parse_gin()
  params = experiment_parser.parse_configuration(FLAGS, lock_return=False,
                                                 print_return=False)
  # TensorFlow is only touched from here on.
  from official_like.common import distribute_utils  # pylint: disable=g-import-not-at-top
  from official_like.core import train_utils  # pylint: disable=g-import-not-at-top
  runtime = params.runtime
  distribute_utils.configure_cluster(runtime.worker_hosts, runtime.task_index)
  strategy = distribute_utils.get_distribution_strategy(
      distribution_strategy=runtime.distribution_strategy,
      num_gpus=runtime.num_gpus, all_reduce_alg=runtime.all_reduce_alg,
      num_packs=runtime.num_packs, tpu_address=runtime.tpu)
  train_utils.check_batch_sizes(params, strategy.num_replicas_in_sync,
                                'train' in FLAGS.mode, 'eval' in FLAGS.mode)
  return params, strategy


def main(argv) -> None:
  del argv
  try:
    params, strategy = prepare()
  except (ValueError, RuntimeError) as e:  # ConfigError is a ValueError.
    print(f'trainer_main.py: error: {e}', file=sys.stderr)
    sys.exit(2)
  from official_like.core import task_factory  # pylint: disable=g-import-not-at-top
  from official_like.core import train_lib  # pylint: disable=g-import-not-at-top
  from official_like.core import train_utils  # pylint: disable=g-import-not-at-top
  with strategy.scope():
    task = task_factory.get_task(params.task, logging_dir=FLAGS.model_dir)
  final = {}
  train_lib.run_experiment(
      distribution_strategy=strategy, task=task, mode=FLAGS.mode,
      params=params, model_dir=FLAGS.model_dir, eval_actions=[final.update])
  if strategy.extended.should_checkpoint:
    train_utils.save_gin_config('', FLAGS.model_dir)
  if final:
    print('Final evaluation: ' + ', '.join(
        f'{k}={float(v):.4f}' for k, v in sorted(final.items())))
  print(f'Model directory: {FLAGS.model_dir}')
  print(f'TensorBoard: tensorboard --logdir {FLAGS.model_dir}')


if __name__ == '__main__':
  import experiments  # pylint: disable=g-import-not-at-top,unused-import
  tfm_flags.define_flags()
  FLAGS.set_default('mode', 'train_and_eval')
  logging.set_verbosity(logging.INFO)
  app.run(main)
