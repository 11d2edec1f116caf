"""Trains or evaluates a registered experiment: `trainer_main.py --experiment=NAME ...`.

Config precedence, lowest first: the experiment's defaults, each
`--config_file` in order, `--tpu`/`--num_gpus`, then `--params_override`.
Every flag, gin binding and config value is checked before TensorFlow is
imported; a bad one ends the run with one line on stderr and exit code 2,
and nothing is written to the model directory.
"""
import os
import re
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import flags
from absl import logging

import experiments  # pylint: disable=unused-import  (the bundled experiments' configs)
from official_like.common import cli_help
from official_like.common import cli_logging
from official_like.common import flags as tfm_flags
from official_like.common import gin_bindings
from official_like.common import gin_static
from official_like.common import tf_quiet
from official_like.common import tfm_redirect
from official_like.common import user_modules
from official_like.core import exp_factory
from official_like.core import experiment_parser
from official_like.modeling.hyperparams import ConfigError
from official_like.modeling.hyperparams.errors import suggestion
from official_like.run import model_dir_checks
from official_like.run import model_dir_lock

FLAGS = flags.FLAGS
PROG = 'trainer_main.py'


OUR_FLAGS = ('experiment', 'mode', 'model_dir', 'config_file', 'params_override',
             'gin_file', 'gin_params', 'import', 'tpu', 'num_gpus', 'tf_data_service',
             'verbosity')
EXAMPLE = ('trainer_main.py --experiment=digits_mlp --model_dir=/tmp/m \\\n'
           "      --params_override='trainer.train_steps=300' --params_override=my.yaml")
# Where our gin configurables are declared: checked by name before TensorFlow.
GIN_SOURCES = (os.path.dirname(os.path.abspath(experiments.__file__)),
               os.path.join(os.path.dirname(os.path.abspath(__file__)), 'official_like'))
_REPEATED = re.compile(r'^flag --(\w+)=(.*): already defined as (.*)$', re.S)


def define_flags() -> None:
  tfm_flags.define_flags()
  FLAGS.set_default('mode', 'train_and_eval')
  flags.DEFINE_multi_string(
      'import', [], 'module (my_pkg.toy) or .py file with your experiments; repeatable')
  FLAGS['verbosity'].allow_overwrite = False
  FLAGS['verbosity'].help = ("1: also Orbit's and TensorFlow's lines, with absl's prefix; "
                             "2: also libraries' DEBUG lines")


def help_text() -> str:
  """What `--help` prints: our flags, the modes, the registered experiments, an example."""
  modes = tfm_flags.MODE_HELP
  width = max(map(len, modes))
  described = exp_factory.describe_experiments()
  exp_width = max(map(len, described), default=0)
  return cli_help.render(PROG, 'Trains and evaluates a registered experiment.', FLAGS, OUR_FLAGS, {
      'modes': [f'{m:<{width}}  {text}' for m, text in modes.items()],
      'experiments': [f'{n:<{exp_width}}  {d}'.rstrip() for n, d in described.items()]
                     + ['(yours: --import=FILE.py, or --experiment=package.module:NAME)'],
      'example': [EXAMPLE],
      'more': ['README.md, section "trainer_main.py"; absl\'s own flags: --helpfull'],
  })


def fail(message: str, code: int = 2) -> None:
  print(f'{PROG}: error: {message}', file=sys.stderr)
  sys.exit(code)


def parse_flags(argv):
  """absl's parsing, with one-line errors that suggest the right flag or value.

  `--help` and `-h` print our help and exit 0 before absl sees them.
  """
  if cli_help.wants_help(argv):
    sys.stdout.write(help_text())
    sys.exit(0)
  try:
    return FLAGS(argv)
  except flags.UnrecognizedFlagError as e:
    ours = {'--' + f.name for module, defined in FLAGS.flags_by_module_dict().items()
            if not module.startswith('absl') for f in defined}
    fail(f"--{e.flagname}: unknown flag; {suggestion('--' + e.flagname, ours, 'flags')}"
         ' (absl flags: --helpfull)')
  except flags.IllegalFlagValueError as e:
    repeated = _REPEATED.match(str(e))
    if repeated:
      name, second, first = repeated.groups()
      fail(f'--{name}: given twice ({first!r}, then {second!r}); give it once '
           '(repeatable: --config_file, --params_override, --gin_file, --gin_params, '
           '--import)')
    name = str(e).split('=', 1)[0].removeprefix('flag --')
    flag = FLAGS[name] if name in FLAGS else None
    values = getattr(getattr(flag, 'parser', None), 'enum_values', None)
    if values:
      given = str(e).split('=', 1)[1].split(':', 1)[0]
      fail(f'--{name}: {given!r} is not allowed; {suggestion(given, values, "values")}')
    fail(str(e).removeprefix('flag '))
  except flags.Error as e:
    fail(str(e))


def import_user_modules() -> None:
  """`--import` entries: dotted module names or paths to .py files.

  TFM's zoo and TFM-based user code import `official.core`; the redirect
  makes that our core, so what they register is what this binary sees.
  """
  tfm_redirect.install()
  for entry in FLAGS['import'].value:
    user_modules.import_user_module(entry, '--import')


def prepare():
  """Checks every flag and value, then builds the strategy: (params, strategy).

  Up to the config check nothing imports TensorFlow. Strategy errors (an
  unreachable TPU, too many GPUs) and batch sizes that do not split over
  the replicas are reported like config errors, before any file is written.
  """
  model_dir_checks.check_usable(FLAGS.model_dir)
  if 'train' in FLAGS.mode:
    model_dir_lock.check_free(FLAGS.model_dir)
  if FLAGS.gin_file or FLAGS.gin_params:
    gin_bindings.parse(FLAGS.gin_file, FLAGS.gin_params, check_only=True,
                       known=gin_static.scan(GIN_SOURCES))
  params = experiment_parser.parse_configuration(FLAGS, lock_return=False,
                                                 print_return=False)
  model_dir_checks.check_fits(params, FLAGS.mode, FLAGS.model_dir)
  # TensorFlow is imported from here on; devices first, so its start-up is quiet.
  tf_quiet.import_quietly()
  from official_like.common import distribute_utils  # pylint: disable=g-import-not-at-top
  from official_like.core import task_factory  # pylint: disable=g-import-not-at-top
  from official_like.core import train_lib  # pylint: disable=g-import-not-at-top,unused-import
  from official_like.core import train_utils  # pylint: disable=g-import-not-at-top
  task_factory.get_task_cls(type(params.task))  # Registers the task's configurables.
  gin_bindings.parse(FLAGS.gin_file, FLAGS.gin_params)
  runtime = params.runtime
  distribute_utils.configure_cluster(runtime.worker_hosts, runtime.task_index)
  strategy = distribute_utils.get_distribution_strategy(
      distribution_strategy=runtime.distribution_strategy,
      num_gpus=runtime.num_gpus, all_reduce_alg=runtime.all_reduce_alg,
      num_packs=runtime.num_packs, tpu_address=runtime.tpu)
  train_utils.check_mode_batch_sizes(params, FLAGS.mode, strategy.num_replicas_in_sync)
  return params, strategy


def run_tool(params, strategy) -> None:
  """--mode=lr_preview (no model, no data) or lr_find (a throwaway model); no training."""
  if FLAGS.mode == 'lr_preview':
    from official_like.lr_tools import lr_preview  # pylint: disable=g-import-not-at-top
    lr_preview.run(params, FLAGS.model_dir)
    return
  from official_like.lr_tools import lr_find  # pylint: disable=g-import-not-at-top
  from official_like.core import task_factory  # pylint: disable=g-import-not-at-top
  with strategy.scope():
    task = task_factory.get_task(params.task, logging_dir=FLAGS.model_dir)
  lr_find.run(params, task, strategy, FLAGS.model_dir)


def list_experiments() -> None:
  described = exp_factory.describe_experiments()
  width = max(map(len, described), default=0)
  for name, doc in described.items():
    print(f'{name:<{width}}  {doc}'.rstrip())


def main(argv) -> None:
  if len(argv) > 1:
    fail(f'unexpected argument {argv[1]!r}; every option is a --flag')
  try:
    with tf_quiet.quiet_start():  # A user's module may import TensorFlow first.
      import_user_modules()
      if FLAGS.experiment == 'list':
        list_experiments()
        return
      params, strategy = prepare()
  except (ValueError, RuntimeError) as e:  # ConfigError is a ValueError.
    fail(str(e))
  except KeyboardInterrupt:  # Ctrl-C while TensorFlow loads: nothing was written yet.
    print('Interrupted before training started; nothing was written.', file=sys.stderr)
    sys.exit(130)
  if FLAGS.mode in tfm_flags.TOOL_MODES:
    run_tool(params, strategy)
    return
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from official_like.run import preemption  # pylint: disable=g-import-not-at-top
  from official_like.core import task_factory  # pylint: disable=g-import-not-at-top
  from official_like.core import train_lib  # pylint: disable=g-import-not-at-top
  from official_like.core import train_utils  # pylint: disable=g-import-not-at-top
  with strategy.scope():
    task = task_factory.get_task(params.task, logging_dir=FLAGS.model_dir)
  final = {}
  try:
    train_lib.run_experiment(
        distribution_strategy=strategy, task=task, mode=FLAGS.mode,
        params=params, model_dir=FLAGS.model_dir, eval_actions=[final.update])
  except preemption.Preempted as e:  # SIGTERM/SIGINT: saved; exit 128 + signal.
    print(str(e).splitlines()[0], file=sys.stderr)  # Gin appends a line.
    sys.exit(e.exit_code)
  except KeyboardInterrupt:  # Ctrl-C where no checkpoint is due (evaluation).
    print('Interrupted.', file=sys.stderr)
    sys.exit(130)
  except ConfigError as e:  # Found once running (e.g. runtime.seed under determinism).
    fail(str(e).splitlines()[0])
  except RuntimeError as e:  # A diverged loss, a model_dir in use, ... (errors.RunError).
    fail(str(e).splitlines()[0], code=1)
  except (tf.errors.UnavailableError, tf.errors.CancelledError,
          tf.errors.DeadlineExceededError) as e:
    if strategy.cluster_resolver is None:
      raise
    # A peer died: TensorFlow's coordination service notices its missing heartbeats.
    reason = next((line.strip() for line in e.message.splitlines() if 'unhealthy' in line),
                  e.message.strip().splitlines()[0])
    fail(f'a worker of the cluster stopped or cannot be reached ({type(e).__name__}: '
         f"{reason}); rerun every worker's command to resume from the chief's "
         'latest checkpoint', code=1)
  if strategy.extended.should_checkpoint:
    train_utils.save_gin_config('', FLAGS.model_dir)
  if final:
    print('Final evaluation: ' + ', '.join(
        f'{k}={float(v):.4f}' for k, v in sorted(final.items())))
  print(f'Model directory: {FLAGS.model_dir}')
  print(f'TensorBoard: {sys.executable} -m tensorboard.main --logdir '
        f'{FLAGS.model_dir} --host 127.0.0.1')


if __name__ == '__main__':
  define_flags()
  logging.set_verbosity(logging.INFO)
  cli_logging.one_line_per_event()
  app.run(main, flags_parser=parse_flags)
