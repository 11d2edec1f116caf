"""The command-line flags of a training binary, as TFM's `define_flags` names them.

`MODES` is the one list of run modes: the flag's enum and the runner's check
both read it. `TOOL_MODES` are what `trainer_main.py` offers on top: they
look at the learning rate of the same config and train nothing, so the
runner refuses them. Defining the flags twice (a binary and a library both
asking) is harmless.
"""
from absl import flags

MODES = ('train', 'eval', 'train_and_eval', 'continuous_eval', 'train_and_post_eval')
# lr_preview: the planned curve, table, PNG and CSV, without model or data.
# lr_find: a learning-rate range test on a throwaway model.
TOOL_MODES = ('lr_preview', 'lr_find')


def _define(kind: str, name: str, default, help_text: str, **kwargs) -> None:
  try:
    getattr(flags, f'DEFINE_{kind}')(name, default, help=help_text, **kwargs)
  except flags.DuplicateFlagError:
    pass


def define_flags() -> None:
  """Defines --experiment, --mode, --model_dir, config and gin flags, --tpu.

  All are optional here; `trainer_main` says which a run needs.
  """
  _define('string', 'experiment', None, 'Registered experiment name, e.g. digits_mlp.')
  _define('enum', 'mode', None, 'What to run; lr_preview and lr_find train nothing.',
          enum_values=list(MODES + TOOL_MODES))
  _define('string', 'model_dir', None,
          'Where checkpoints, summaries and params.yaml go.')
  _define('multi_string', 'config_file', None,
          'YAML file(s) overriding the experiment; later files win.')
  _define('string', 'params_override', None,
          "Overrides: 'a.b=1,c=x', YAML/JSON text or a YAML file path. Applied last.")
  _define('multi_string', 'gin_file', None, 'Gin config file(s).')
  _define('multi_string', 'gin_params', None,
          "Gin bindings, e.g. 'official_like.run_experiment.run_post_eval=True'.")
  _define('string', 'tpu', None, 'TPU name or grpc:// address (sets runtime.tpu).')
  _define('integer', 'num_gpus', None, 'GPUs per worker (sets runtime.num_gpus).')
  _define('string', 'tf_data_service', None,
          'tf.data service address (sets task.*_data.tf_data_service_address).')
