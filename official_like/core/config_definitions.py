"""Experiment, task, trainer, runtime and data configs: TFM 2.20's names and defaults.

A TFM experiment YAML's `trainer:` and `runtime:` sections load unchanged.
`validate()` rejects inconsistent values (e.g. a summary_interval that is not
a multiple of steps_per_loop) with the key and the rule, before any
TensorFlow object is built.
"""
import dataclasses
import importlib.util
from typing import Any, Dict, Optional, Sequence, Union

from official_like.common import strategy_names
from official_like.modeling.hyperparams import base_config  # TFM code reaches it as cfg.base_config.
from official_like.modeling.hyperparams import Config
from official_like.modeling.hyperparams import ConfigError
from official_like.modeling.hyperparams import checks
from official_like.modeling.optimization.configs.optimization_config import OptimizationConfig

_PRECISIONS = (None, 'float32', 'float16', 'bfloat16')
# tf.data.experimental.AutotuneAlgorithm's names (a test compares them with TF's).
AUTOTUNE_ALGORITHMS = ('DEFAULT', 'HILL_CLIMB', 'GRADIENT_DESCENT', 'MAX_PARALLELISM',
                       'STAGE_BASED')
_TF_DATA_SERVICE = 'the tf.data service'


@dataclasses.dataclass
class DataConfig(Config):
  """Where examples come from and how they are batched."""
  input_path: Union[Sequence[str], str, Config] = ''
  tfds_name: Union[str, Config] = ''
  tfds_split: str = ''
  global_batch_size: int = 0
  is_training: Optional[bool] = None
  drop_remainder: bool = True
  shuffle_buffer_size: int = 100
  cache: bool = False
  cycle_length: Optional[int] = None
  block_length: int = 1
  ram_budget: Optional[int] = None
  deterministic: Optional[bool] = None
  sharding: bool = True
  enable_tf_data_service: bool = False
  tf_data_service_address: Optional[str] = None
  tf_data_service_job_name: Optional[str] = None
  tfds_data_dir: str = ''
  tfds_as_supervised: bool = False
  tfds_skip_decoding_feature: str = ''
  enable_shared_tf_data_service_between_parallel_trainers: bool = False
  apply_tf_data_service_before_batching: bool = False
  trainer_id: Optional[str] = None
  seed: Optional[int] = None
  prefetch_buffer_size: Optional[int] = None
  autotune_algorithm: Optional[str] = None

  UNSUPPORTED = {
      'enable_tf_data_service': _TF_DATA_SERVICE,
      'tf_data_service_address': _TF_DATA_SERVICE,
      'tf_data_service_job_name': _TF_DATA_SERVICE,
      'enable_shared_tf_data_service_between_parallel_trainers': _TF_DATA_SERVICE,
      'apply_tf_data_service_before_batching': _TF_DATA_SERVICE,
      'trainer_id': 'sharing the tf.data service between trainers',
  }

  def validate(self):
    super().validate()
    checks.not_supported(self, self.UNSUPPORTED)
    checks.in_range('global_batch_size', self.global_batch_size, 0)
    checks.in_range('shuffle_buffer_size', self.shuffle_buffer_size, 0)
    checks.positive('cycle_length', self.cycle_length)
    checks.positive('block_length', self.block_length)
    checks.positive('ram_budget', self.ram_budget)
    checks.positive('prefetch_buffer_size', self.prefetch_buffer_size)
    if self.autotune_algorithm is not None:
      checks.one_of('autotune_algorithm', self.autotune_algorithm, AUTOTUNE_ALGORITHMS,
                    'algorithms')
    if self.tfds_name:
      if self.input_path:
        raise ConfigError(('tfds_name',), 'set either input_path or tfds_name, not both')
      if importlib.util.find_spec('tensorflow_datasets') is None:
        raise ConfigError(('tfds_name',), f'{self.tfds_name!r} needs the '
                          'tensorflow-datasets package: pip install tensorflow-datasets')


@dataclasses.dataclass
class RuntimeConfig(Config):
  """Devices, distribution and numerics of the run.

  `seed` (not in TFM) seeds model init, dropout and input shuffling; with it
  set and op determinism on, two runs give bitwise-equal weights.
  """
  distribution_strategy: str = 'mirrored'
  enable_xla: bool = False
  gpu_thread_mode: Optional[str] = None
  dataset_num_private_threads: Optional[int] = None
  per_gpu_thread_count: int = 0
  tpu: Optional[str] = None
  num_gpus: int = 0
  worker_hosts: Optional[str] = None
  task_index: int = -1
  all_reduce_alg: Optional[str] = None
  num_packs: int = 1
  mixed_precision_dtype: Optional[str] = None
  loss_scale: Union[str, float, None] = None
  run_eagerly: bool = False
  batchnorm_spatial_persistent: bool = False
  tpu_enable_xla_dynamic_padder: Optional[bool] = None
  num_cores_per_replica: int = 1
  default_shard_dim: int = -1
  use_tpu_mp_strategy: bool = False
  seed: Optional[int] = None

  NOT_IN_TFM = ('seed',)  # Added fields; their defaults keep TFM's YAML and behaviour.
  UNSUPPORTED = {
      'gpu_thread_mode': 'GPU thread tuning',
      'per_gpu_thread_count': 'GPU thread tuning',
      'batchnorm_spatial_persistent': 'cuDNN batch-norm tuning',
      'num_cores_per_replica': 'TPU model parallelism',
      'default_shard_dim': 'TPU model parallelism',
      'use_tpu_mp_strategy': 'TPU model parallelism',
  }

  def model_parallelism(self) -> Dict[str, int]:
    """TFM's keyword arguments of `get_distribution_strategy` for TPU model parallelism."""
    return {'num_cores_per_replica': self.num_cores_per_replica,
            'default_shard_dim': self.default_shard_dim}

  def validate(self):
    super().validate()
    checks.not_supported(self, self.UNSUPPORTED)
    try:
      strategy_names.normalize(self.distribution_strategy)
    except ValueError as e:
      raise ConfigError(('distribution_strategy',), str(e)) from None
    checks.in_range('num_gpus', self.num_gpus, 0)
    checks.positive('dataset_num_private_threads', self.dataset_num_private_threads)
    checks.in_range('seed', self.seed, 0, 2**32)  # NumPy's seed range (it is seeded too).
    if self.mixed_precision_dtype not in _PRECISIONS:
      raise ConfigError(('mixed_precision_dtype',), f'must be one of float32, '
                        f'float16, bfloat16 or null, got {self.mixed_precision_dtype!r}')
    scale = self.loss_scale
    if isinstance(scale, str) and scale != 'dynamic' or (
        isinstance(scale, float) and scale <= 0):
      raise ConfigError(('loss_scale',), "must be 'dynamic', a positive number "
                        f'or null, got {scale!r}')


@dataclasses.dataclass
class TrainerConfig(Config):
  """How long to train, how often to summarise, evaluate and checkpoint.

  `recovery_max_trials` keeps TFM's meaning: -1 turns the loss check off, 0
  stops the run at the first NaN loss or loss above `loss_upper_bound`, and
  N > 0 restores the latest checkpoint up to N times before stopping.
  """
  optimizer_config: OptimizationConfig = dataclasses.field(
      default_factory=OptimizationConfig)
  train_tf_while_loop: bool = True
  train_tf_function: bool = True
  eval_tf_function: bool = True
  eval_tf_while_loop: bool = False
  allow_tpu_summary: bool = False
  steps_per_loop: int = 1000
  summary_interval: int = 1000
  checkpoint_interval: int = 1000
  max_to_keep: int = 5
  continuous_eval_timeout: int = 60 * 60
  train_steps: int = 0
  validation_steps: int = -1
  validation_interval: int = 1000
  best_checkpoint_export_subdir: str = ''
  best_checkpoint_eval_metric: str = ''
  best_checkpoint_metric_comp: str = 'higher'
  loss_upper_bound: float = 1e6
  recovery_begin_steps: int = 0
  recovery_max_trials: int = 0
  validation_summary_subdir: str = 'validation'
  preemption_on_demand_checkpoint: bool = True

  def validate(self):
    super().validate()
    checks.required('train_steps', self.train_steps)
    if self.train_steps != 0:  # TFM's default 0 is "not set yet"; training requires > 0.
      checks.positive('train_steps', self.train_steps)
    for key in ('steps_per_loop', 'summary_interval', 'checkpoint_interval',
                'validation_interval', 'max_to_keep', 'loss_upper_bound'):
      checks.required(key, getattr(self, key))
      checks.positive(key, getattr(self, key))
    if self.summary_interval % self.steps_per_loop:
      raise ConfigError(('summary_interval',), f'must be a multiple of '
                        f'steps_per_loop ({self.steps_per_loop}), got '
                        f'{self.summary_interval}')
    if self.validation_steps == 0 or self.validation_steps < -1:
      raise ConfigError(('validation_steps',), 'must be -1 (the whole validation '
                        f'set) or > 0, got {self.validation_steps}')
    checks.one_of('best_checkpoint_metric_comp', self.best_checkpoint_metric_comp,
                  ('higher', 'lower'))
    if self.best_checkpoint_export_subdir and not self.best_checkpoint_eval_metric:
      raise ConfigError(('best_checkpoint_eval_metric',), 'must name a validation '
                        'metric when best_checkpoint_export_subdir is set')
    checks.in_range('recovery_begin_steps', self.recovery_begin_steps, 0)
    checks.in_range('recovery_max_trials', self.recovery_max_trials, -1)


@dataclasses.dataclass
class TaskConfig(Config):
  """What to learn; experiments subclass it with a concrete `model` config."""
  init_checkpoint: str = ''
  model: Optional[Config] = None
  train_data: DataConfig = dataclasses.field(default_factory=DataConfig)
  validation_data: DataConfig = dataclasses.field(default_factory=DataConfig)
  name: Optional[str] = None
  differential_privacy_config: Optional[Dict[str, Any]] = None
  allow_image_summary: bool = False

  UNSUPPORTED = {
      'differential_privacy_config': 'differential privacy',
      'allow_image_summary': 'image summaries',
  }

  def validate(self):
    super().validate()
    checks.not_supported(self, self.UNSUPPORTED)


@dataclasses.dataclass
class ExperimentConfig(Config):
  """Everything one run needs: task, trainer and runtime."""
  task: TaskConfig = dataclasses.field(default_factory=TaskConfig)
  trainer: TrainerConfig = dataclasses.field(default_factory=TrainerConfig)
  runtime: RuntimeConfig = dataclasses.field(default_factory=RuntimeConfig)
