"""The experiment configs: TFM parity of names/defaults, TFM YAML loading, validation.

TFM (`official.core.config_definitions`) is the reference: the field names,
their order and their defaults must match, and the `trainer:`/`runtime:`
sections of a TFM experiment YAML must load into ours unchanged. Validation
errors are checked by their exact text, since users read them.
"""
import dataclasses

import pytest
import yaml

from official.core import config_definitions as tfm_cfg
from official_like.core import config_definitions as cfg
from official_like.modeling.hyperparams import ConfigError

PAIRS = [
    (cfg.DataConfig, tfm_cfg.DataConfig),
    (cfg.RuntimeConfig, tfm_cfg.RuntimeConfig),
    (cfg.TrainerConfig, tfm_cfg.TrainerConfig),
    (cfg.TaskConfig, tfm_cfg.TaskConfig),
    (cfg.ExperimentConfig, tfm_cfg.ExperimentConfig),
]
_PLAIN = (type(None), bool, int, float, str)

OPTIMIZER = {
    'optimizer': {'type': 'sgd', 'sgd': {'momentum': 0.9}},
    'learning_rate': {'type': 'constant', 'constant': {'learning_rate': 0.1}},
}
VALID_TRAINER = dict(train_steps=100, steps_per_loop=10, summary_interval=20,
                     checkpoint_interval=20, validation_interval=50,
                     optimizer_config=OPTIMIZER)


def _tfm_fields(cls):
  """Our fields minus the ones official_like adds (`NOT_IN_TFM`), which TFM lacks."""
  return [f for f in dataclasses.fields(cls) if f.name not in getattr(cls, 'NOT_IN_TFM', ())]


def _tfm_view(d, cls=cfg.ExperimentConfig):
  """`as_dict()` without the added fields, at any depth."""
  hints = {f.name: f.type for f in dataclasses.fields(cls)}
  return {k: _tfm_view(v, hints[k]) if isinstance(v, dict) and dataclasses.is_dataclass(
      hints.get(k)) else v for k, v in d.items() if k not in getattr(cls, 'NOT_IN_TFM', ())}


def test_added_fields_default_to_none():
  assert [(f.name, _default(f)) for f in dataclasses.fields(cfg.RuntimeConfig)
          if f.name in cfg.RuntimeConfig.NOT_IN_TFM] == [('seed', None)]


def _default(field):
  if field.default is not dataclasses.MISSING:
    return field.default
  return field.default_factory()


@pytest.mark.parametrize('ours, theirs', PAIRS, ids=lambda c: c.__name__)
def test_field_names_in_tfm_order(ours, theirs):
  assert ([f.name for f in _tfm_fields(ours)] ==
          [f.name for f in dataclasses.fields(theirs)])


@pytest.mark.parametrize('ours, theirs', PAIRS, ids=lambda c: c.__name__)
def test_plain_defaults_equal_tfm(ours, theirs):
  theirs_fields = {f.name: f for f in dataclasses.fields(theirs)}
  compared = 0
  for field in _tfm_fields(ours):
    expected = _default(theirs_fields[field.name])
    if isinstance(expected, _PLAIN):
      value = _default(field)
      assert value == expected and type(value) is type(expected), field.name
      compared += 1
  # Only ExperimentConfig has no plain field at all.
  assert compared or ours is cfg.ExperimentConfig


@pytest.mark.parametrize('ours, theirs', PAIRS, ids=lambda c: c.__name__)
def test_whole_default_config_equals_tfm_as_dict(ours, theirs):
  assert _tfm_view(ours().as_dict(), ours) == theirs().as_dict()


def test_default_optimizer_config_equals_tfm():
  assert (cfg.TrainerConfig().optimizer_config.as_dict() ==
          tfm_cfg.TrainerConfig().optimizer_config.as_dict() ==
          {'optimizer': {'type': None}, 'ema': None,
           'learning_rate': {'type': None}, 'warmup': {'type': None}})


def _tfm_experiment_yaml():
  """trainer/runtime sections of a TFM experiment with non-default values."""
  experiment = tfm_cfg.ExperimentConfig(
      trainer=tfm_cfg.TrainerConfig(
          train_steps=5000, steps_per_loop=250, summary_interval=500,
          checkpoint_interval=1000, validation_interval=2500,
          validation_steps=40, max_to_keep=7, continuous_eval_timeout=120,
          train_tf_while_loop=False, eval_tf_while_loop=True,
          best_checkpoint_export_subdir='best', best_checkpoint_eval_metric='top1',
          best_checkpoint_metric_comp='lower', loss_upper_bound=50.0,
          recovery_begin_steps=100, recovery_max_trials=-1,
          validation_summary_subdir='eval', preemption_on_demand_checkpoint=False,
          optimizer_config={
              'optimizer': {'type': 'adamw', 'adamw': {
                  'weight_decay_rate': 0.05, 'beta_2': 0.98,
                  'exclude_from_weight_decay': ['bias']}},
              'learning_rate': {'type': 'cosine', 'cosine': {
                  'initial_learning_rate': 0.003, 'decay_steps': 5000,
                  'alpha': 0.01}},
              'warmup': {'type': 'linear', 'linear': {
                  'warmup_steps': 200, 'warmup_learning_rate': 1e-5}},
              'ema': {'average_decay': 0.999},
          }),
      runtime=tfm_cfg.RuntimeConfig(
          distribution_strategy='multi_worker_mirrored', enable_xla=True,
          num_gpus=2, worker_hosts='a:1,b:2', task_index=1,
          all_reduce_alg='ring', mixed_precision_dtype='bfloat16',
          loss_scale=256.0, run_eagerly=True, num_packs=2))
  sections = {k: v for k, v in experiment.as_dict().items() if k != 'task'}
  return sections, yaml.safe_dump(sections)


def test_tfm_yaml_trainer_and_runtime_load_unchanged(tmp_path):
  sections, text = _tfm_experiment_yaml()
  path = tmp_path / 'tfm.yaml'
  path.write_text(text)

  ours = cfg.ExperimentConfig.from_yaml(str(path))
  ours.validate()
  loaded = ours.as_dict()
  assert loaded['trainer'] == sections['trainer']
  assert _tfm_view(loaded)['runtime'] == sections['runtime']
  assert ours.trainer.optimizer_config.optimizer.adamw.weight_decay_rate == 0.05
  assert ours.runtime.loss_scale == 256.0

  overridden = cfg.ExperimentConfig()
  overridden.override(yaml.safe_load(text))
  assert overridden == ours


def _experiment(**trainer_overrides):
  return cfg.ExperimentConfig(trainer=cfg.TrainerConfig(
      {**VALID_TRAINER, **trainer_overrides}))


def test_valid_experiment_validates():
  _experiment().validate()
  _experiment(recovery_max_trials=-1).validate()  # TFM: no recovery at all.


@pytest.mark.parametrize('overrides, message', [
    (dict(summary_interval=25),
     'trainer.summary_interval: must be a multiple of steps_per_loop (10), '
     'got 25'),
    (dict(train_steps=-3), 'trainer.train_steps: must be > 0, got -3'),
    (dict(steps_per_loop=0), 'trainer.steps_per_loop: must be > 0, got 0'),
    (dict(validation_steps=0),
     'trainer.validation_steps: must be -1 (the whole validation set) or > 0, '
     'got 0'),
    (dict(validation_steps=-2),
     'trainer.validation_steps: must be -1 (the whole validation set) or > 0, '
     'got -2'),
    (dict(best_checkpoint_metric_comp='max'),
     "trainer.best_checkpoint_metric_comp: 'max' is not allowed; valid values: "
     'higher, lower'),
    (dict(best_checkpoint_export_subdir='best'),
     'trainer.best_checkpoint_eval_metric: must name a validation metric when '
     'best_checkpoint_export_subdir is set'),
    (dict(recovery_max_trials=-2),
     'trainer.recovery_max_trials: must be >= -1, got -2'),
])
def test_trainer_validation_messages(overrides, message):
  with pytest.raises(ConfigError) as error:
    _experiment(**overrides).validate()
  assert str(error.value) == message


@pytest.mark.parametrize('overrides, message', [
    (dict(distribution_strategy='mirorred'),
     "runtime.distribution_strategy: unknown strategy 'mirorred'; did you mean "
     "'mirrored'? valid strategies: default, mirrored, multi_worker_mirrored, "
     'off, one_device, tpu (case-insensitive)'),
    (dict(distribution_strategy='parameter_server'),
     "runtime.distribution_strategy: 'parameter_server' is not supported: the "
     'Orbit loop of official_like does not drive a ClusterCoordinator; use '
     "'multi_worker_mirrored' for multi-worker training"),
    (dict(mixed_precision_dtype='float64'),
     'runtime.mixed_precision_dtype: must be one of float32, float16, bfloat16 '
     "or null, got 'float64'"),
    (dict(loss_scale='static'),
     "runtime.loss_scale: must be 'dynamic', a positive number or null, "
     "got 'static'"),
    (dict(loss_scale=0),
     "runtime.loss_scale: must be 'dynamic', a positive number or null, "
     'got 0.0'),
    (dict(loss_scale=-128),
     "runtime.loss_scale: must be 'dynamic', a positive number or null, "
     'got -128.0'),
])
def test_runtime_validation_messages(overrides, message):
  params = _experiment()
  params.override({'runtime': overrides})
  with pytest.raises(ConfigError) as error:
    params.validate()
  assert str(error.value) == message


@pytest.mark.parametrize('runtime', [
    dict(distribution_strategy='MIRRORED'), dict(loss_scale='dynamic'),
    dict(loss_scale=128), dict(mixed_precision_dtype='float16'),
    dict(mixed_precision_dtype=None)])
def test_runtime_accepts_tfm_values(runtime):
  params = _experiment()
  params.override({'runtime': runtime})
  params.validate()


def test_data_and_task_validation_messages():
  with pytest.raises(ConfigError) as error:
    cfg.ExperimentConfig(task=cfg.TaskConfig(
        train_data=cfg.DataConfig(global_batch_size=-1))).validate()
  assert str(error.value) == 'task.train_data.global_batch_size: must be >= 0, got -1'
  with pytest.raises(ConfigError) as error:
    cfg.TaskConfig(differential_privacy_config={'clipping_norm': 1.0}).validate()
  assert str(error.value) == (
      "differential_privacy_config: {'clipping_norm': 1.0}: differential privacy "
      'is not supported by official_like; remove the key or set it to None')


def test_nothing_checked_is_changed_by_validate():
  params = _experiment()
  before = params.as_dict()
  params.validate()
  assert params.as_dict() == before


# TFM's model zoo relies on what TFM's configs accept; the checks that catch typos stay.

def test_none_means_unset_in_any_field_as_in_tfm():
  """The zoo sets `is_training=None` and `input_size=[None, None, 3]` in typed fields."""

  @dataclasses.dataclass
  class ZooData(cfg.DataConfig):
    input_size: list[int] = dataclasses.field(default_factory=lambda: [None, None, 3])
    max_predictions_per_seq: int = None

  data = ZooData(is_training=None)
  assert (data.input_size, data.is_training, data.max_predictions_per_seq) == (
      [None, None, 3], None, None)
  data.override({'input_size': [224, None, 3]})
  assert data.input_size == [224, None, 3]
  with pytest.raises(ConfigError, match=r"^input_size\[1\]: expected int, got str 'x'$"):
    data.override({'input_size': [1, 'x', 3]})  # Wrong types are still caught.
  with pytest.raises(ConfigError, match='unknown key'):
    data.override({'input_sise': [1, 2, 3]})


def test_a_required_trainer_value_set_to_null_is_refused_by_validate():
  params = cfg.ExperimentConfig(trainer=cfg.TrainerConfig(train_steps=10))
  params.override({'trainer': {'train_steps': None}})
  with pytest.raises(ConfigError, match='^trainer.train_steps: must be set, got null$'):
    params.validate()


def test_post_init_chains_to_the_base_as_in_tfm():
  seen = []

  @dataclasses.dataclass
  class Checked(cfg.DataConfig):
    pad: bool = True

    def __post_init__(self, *args, **kwargs):
      seen.append(self.pad)
      super().__post_init__(*args, **kwargs)

  Checked(pad=False)
  assert seen == [False]


def test_model_parallelism_is_tfms():
  runtime = cfg.RuntimeConfig()
  assert runtime.model_parallelism() == tfm_cfg.RuntimeConfig().model_parallelism()


def test_an_experiment_without_optimizer_or_steps_validates_as_in_tfm():
  """The zoo validates configs that leave them to the user; training needs them."""
  from official_like.core import experiment_parser  # pylint: disable=g-import-not-at-top
  params = cfg.ExperimentConfig()
  params.validate()
  tfm_cfg.ExperimentConfig().validate()
  with pytest.raises(ConfigError, match='^trainer.train_steps: must be > 0, got 0$'):
    experiment_parser.check_trainable(params)
  params.trainer.train_steps = 10
  with pytest.raises(ConfigError, match='^trainer.optimizer_config.optimizer.type: must be set'):
    experiment_parser.check_trainable(params)
