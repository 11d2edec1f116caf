"""The command-line flags of a training binary, as TFM's `define_flags` names them.

`MODES` is the one list of run modes: the flag's enum and the runner's check
both read it. `TOOL_MODES` are what `trainer_main.py` offers on top: they
look at the learning rate of the same config and train nothing, so the
runner refuses them. `trains` and `evaluates` say which data a mode reads.
Defining the flags twice (a binary and a library both asking) is harmless.

A repeated flag is never dropped: the list flags (`--config_file`,
`--params_override`, `--gin_file`, `--gin_params`) keep every value in
order, and every other flag refuses a second value (absl's
`allow_overwrite=False`), where absl would silently keep the last one.
`--params_override` is a list here (TFM: one string) because pasting a
suggested override next to one already on the line is the usual way to
give two; `experiment_parser` applies them in order.
"""
from absl import flags

from official_like.modeling.hyperparams import ConfigError

MODES = ('train', 'eval', 'train_and_eval', 'continuous_eval', 'train_and_post_eval')
# lr_preview: the planned curve, table, PNG and CSV, without model or data.
# lr_find: a learning-rate range test on a throwaway model.
TOOL_MODES = ('lr_preview', 'lr_find')


def check_mode(mode: str) -> None:
  """Refuses a mode the runner does not run (the tool modes are `trainer_main.py`'s)."""
  if mode not in MODES:
    raise ConfigError(('mode',), f"unknown mode {mode!r}; valid modes: {', '.join(MODES)}")


def trains(mode: str) -> bool:
  """Whether `mode` reads train_data (lr_find trains a throwaway model)."""
  return 'train' in mode or mode == 'lr_find'


def evaluates(mode: str, run_post_eval: bool = False) -> bool:
  """Whether `mode` (or an evaluation after training) reads validation_data."""
  return 'eval' in mode or run_post_eval


MODE_HELP = {
    'train': 'train to trainer.train_steps (resumes from the latest checkpoint)',
    'eval': 'evaluate the latest checkpoint once',
    'train_and_eval': 'train, evaluating every trainer.validation_interval steps (default)',
    'continuous_eval': 'evaluate each new checkpoint another process writes',
    'train_and_post_eval': 'train, then evaluate once',
    'lr_preview': 'print and plot the planned learning rate; no model, no data',
    'lr_find': 'learning-rate range test on a throwaway model; suggests a peak rate',
}


def _define(kind: str, name: str, default, help_text: str, **kwargs) -> None:
  if not kind.startswith('multi'):
    kwargs['allow_overwrite'] = False
  try:
    getattr(flags, f'DEFINE_{kind}')(name, default, help=help_text, **kwargs)
  except flags.DuplicateFlagError:
    pass


def define_flags() -> None:
  """Defines --experiment, --mode, --model_dir, config and gin flags, --tpu.

  All are optional here; `trainer_main` says which a run needs. Each help
  text is one line: `trainer_main.py --help` shows it as it is.
  """
  _define('string', 'experiment', None,
          'registered experiment, package.module:NAME, or `list`')
  _define('enum', 'mode', None, 'what to run (lr_preview and lr_find train nothing)',
          enum_values=list(MODES + TOOL_MODES))
  _define('string', 'model_dir', None,
          'checkpoints, summaries, params.yaml, operative_config.gin')
  _define('multi_string', 'config_file', None,
          'YAML file overriding the experiment; repeatable, later files win')
  _define('multi_string', 'params_override', None,
          "'a.b=1,c=x', YAML/JSON text or a YAML file; repeatable, applied last, in order")
  _define('multi_string', 'gin_file', None, 'gin config file; repeatable')
  _define('multi_string', 'gin_params', None,
          "gin binding, e.g. \"experiments.digits.build_mlp.activation='tanh'\"; "
          'repeatable')
  _define('string', 'tpu', None, 'TPU name or grpc:// address (sets runtime.tpu)')
  _define('integer', 'num_gpus', None, 'GPUs per worker (sets runtime.num_gpus)')
  _define('string', 'tf_data_service', None,
          'tf.data service address (sets task.*_data.tf_data_service_address)')
