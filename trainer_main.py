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

from official_like.core import config_definitions as cfg
from official_like.core import exp_factory
from official_like.core import train_lib
from official_like.modeling.hyperparams import ConfigError
from official_like.modeling.hyperparams import params_parser

FLAGS = flags.FLAGS


def define_flags() -> None:
  flags.DEFINE_string('experiment', None, 'Registered experiment name, e.g. digits_mlp.')
  flags.DEFINE_enum('mode', 'train_and_eval', list(train_lib.MODES), 'What to run.')
  flags.DEFINE_string('model_dir', None, 'Where checkpoints, summaries and params.yaml go.')
  flags.DEFINE_multi_string('config_file', [], 'YAML file(s) overriding the experiment; '
                            'later files win.')
  flags.DEFINE_string('params_override', '', "Overrides: 'a.b=1,c=x', YAML/JSON text "
                      'or a YAML file path. Applied last.')
  flags.DEFINE_multi_string('gin_file', [], 'Gin config file(s).')
  flags.DEFINE_multi_string('gin_params', [], "Gin bindings, e.g. "
                            "'official_like.run_experiment.run_post_eval=True'.")
  flags.DEFINE_string('tpu', None, 'TPU name or grpc:// address (sets runtime.tpu).')
  flags.DEFINE_integer('num_gpus', None, 'GPUs per worker (sets runtime.num_gpus).')


def build_params() -> cfg.ExperimentConfig:
  """The experiment config the flags describe, validated."""
  if not FLAGS.experiment:
    raise ConfigError(('--experiment',), 'is required; registered experiments: '
                      f"{', '.join(exp_factory.registered_experiments())}")
  try:
    params = exp_factory.get_exp_config(FLAGS.experiment)
  except ConfigError as e:
    raise ConfigError(('--experiment',), e.reason) from None
  for path in FLAGS.config_file:
    params.override(params_parser.load_yaml_file(path, '--config_file'))
  runtime = {}
  if FLAGS.tpu is not None:
    runtime['tpu'] = FLAGS.tpu
  if FLAGS.num_gpus is not None:
    runtime['num_gpus'] = FLAGS.num_gpus
  if runtime:
    params.override({'runtime': runtime})
  if FLAGS.params_override:
    params.override(params_parser.parse(FLAGS.params_override, '--params_override'))
  params.validate()
  return params


def parse_gin() -> None:
  for path in FLAGS.gin_file:
    if not os.path.isfile(path):
      raise ConfigError(('--gin_file',), f'file not found: {path!r}')
  try:
    gin.parse_config_files_and_bindings(FLAGS.gin_file, FLAGS.gin_params)
  except (ValueError, KeyError, TypeError, SyntaxError) as e:
    raise ConfigError(('--gin_file/--gin_params',), str(e).splitlines()[0]) from e


def save_operative_gin(model_dir: str) -> None:
  with open(os.path.join(model_dir, 'operative_config.gin'), 'w', encoding='utf-8') as f:
    f.write(gin.operative_config_str())


def prepare():
  """Checks every flag and value, then builds the strategy: (params, strategy).

  Strategy errors (an unreachable TPU, too many GPUs) and batch sizes that do
  not split over the replicas are reported like config errors, before any
  file is written.
  """
  if not FLAGS.model_dir:
    raise ConfigError(('--model_dir',), 'is required: the directory for '
                      'checkpoints, summaries and params.yaml')
  parse_gin()
  params = build_params()
  # TensorFlow is only touched from here on.
  from official_like.common import distribute_utils  # pylint: disable=g-import-not-at-top
  runtime = params.runtime
  distribute_utils.configure_cluster(runtime.worker_hosts, runtime.task_index)
  strategy = distribute_utils.get_distribution_strategy(
      distribution_strategy=runtime.distribution_strategy,
      num_gpus=runtime.num_gpus, all_reduce_alg=runtime.all_reduce_alg,
      num_packs=runtime.num_packs, tpu_address=runtime.tpu)
  train_lib.check_batch_sizes(params, strategy.num_replicas_in_sync,
                              'train' in FLAGS.mode, 'eval' in FLAGS.mode)
  return params, strategy


def main(argv) -> None:
  del argv
  try:
    params, strategy = prepare()
  except (ValueError, RuntimeError) as e:  # ConfigError is a ValueError.
    print(f'trainer_main.py: error: {e}', file=sys.stderr)
    sys.exit(2)
  from official_like.common import distribute_utils  # pylint: disable=g-import-not-at-top
  from official_like.core import task_factory  # pylint: disable=g-import-not-at-top
  with strategy.scope():
    task = task_factory.get_task(params.task, logging_dir=FLAGS.model_dir)
  _, eval_logs = train_lib.run_experiment(
      distribution_strategy=strategy, task=task, mode=FLAGS.mode,
      params=params, model_dir=FLAGS.model_dir)
  if distribute_utils.is_chief(strategy):
    save_operative_gin(FLAGS.model_dir)
  if eval_logs:
    print('Final evaluation: ' + ', '.join(
        f'{k}={float(v):.4f}' for k, v in sorted(eval_logs.items())))
  print(f'Model directory: {FLAGS.model_dir}')
  print(f'TensorBoard: tensorboard --logdir {FLAGS.model_dir}')


if __name__ == '__main__':
  import experiments  # pylint: disable=g-import-not-at-top,unused-import
  define_flags()
  logging.set_verbosity(logging.INFO)
  app.run(main)
