"""TFM experiment YAML files load here as they load in TFM.

The texts below follow TFM's own experiment files (ViT/DeiT on GPUs,
RetinaNet on multi-worker GPUs, a video model with `!!python/tuple`): their
`trainer` and `runtime` sections must give the same config as `official`'s,
and the same learning rates; task sections (model-specific in TFM) are
loaded as extra keys, as TFM does with `is_strict=False`.
"""
import numpy as np
import official.core.config_definitions as tfm_cfg
from official.modeling import optimization as tfm_optimization
import pytest
import tensorflow as tf
import yaml

import experiments  # noqa: F401  (registers digits_mlp)
from official_like.core import config_definitions as cfg
from official_like.core import experiment_parser
from official_like.modeling.hyperparams import ConfigError
from official_like.modeling.hyperparams import yaml_loader
from official_like.modeling.optimization import OptimizerFactory

VIT = """
runtime: {distribution_strategy: mirrored, mixed_precision_dtype: float16}
task:
  losses: {label_smoothing: 0.1, one_hot: false}
  train_data: {dtype: float16, global_batch_size: 512, input_path: 'gs://b/train*', is_training: true}
trainer:
  checkpoint_interval: 2496
  optimizer_config:
    learning_rate:
      cosine: {alpha: 0.0, decay_steps: 374400, initial_learning_rate: 0.0005}
      type: cosine
    optimizer:
      adamw:
        include_in_weight_decay: .*(kernel|weight):0$
        weight_decay_rate: 0.05
      type: adamw
    warmup:
      linear: {warmup_learning_rate: 0, warmup_steps: 12480}
      type: linear
  steps_per_loop: 2496
  summary_interval: 2496
  train_steps: 374400
  validation_interval: 2496
  validation_steps: 25
"""
RETINANET = """
runtime: {all_reduce_alg: nccl, distribution_strategy: multi_worker_mirrored, mixed_precision_dtype: float16}
task:
  model: {input_size: [640, 640, 3], max_level: 7}
trainer:
  best_checkpoint_export_subdir: "best_ckpt"
  best_checkpoint_eval_metric: "AP50"
  checkpoint_interval: 462
  optimizer_config:
    optimizer: {type: sgd, sgd: {momentum: 0.9}}
    learning_rate:
      cosine: {decay_steps: 23100, initial_learning_rate: 0.32}
      type: 'cosine'
    warmup:
      linear: {warmup_learning_rate: 0.0067, warmup_steps: 2000}
  steps_per_loop: 462
  summary_interval: 462
  train_steps: 23100
  validation_interval: 462
  validation_steps: 625
"""
VIDEO = """
runtime: {mixed_precision_dtype: bfloat16}
task:
  train_data:
    feature_shape: !!python/tuple
    - 32
    - 224
    - 224
    - 3
    global_batch_size: 1024
trainer:
  optimizer_config:
    ema: {average_decay: 0.9999, trainable_weights_only: false}
    optimizer: {type: sgd}
    learning_rate:
      cosine: {decay_steps: 73682, initial_learning_rate: 0.8, name: CosineDecay}
      type: cosine
    warmup:
      linear: {name: linear, warmup_learning_rate: 0, warmup_steps: 1050}
      type: linear
  train_steps: 73682
  steps_per_loop: 500
  summary_interval: 500
  validation_interval: 500
"""


def _both(text):
  ours = cfg.ExperimentConfig()
  ours.override(yaml_loader.load(text, 'test'), is_strict=False)
  ours.validate()
  theirs = tfm_cfg.ExperimentConfig()
  theirs.override(yaml.load(text, Loader=yaml.UnsafeLoader), is_strict=False)
  return ours, theirs


@pytest.mark.parametrize('text', [VIT, RETINANET, VIDEO], ids=['vit', 'retinanet', 'video'])
def test_trainer_and_runtime_sections_match_tfm(text):
  ours, theirs = _both(text)
  assert ours.trainer.as_dict() == theirs.trainer.as_dict()
  added = cfg.RuntimeConfig.NOT_IN_TFM  # official_like's own fields, at their defaults.
  assert {k: v for k, v in ours.runtime.as_dict().items() if k not in added} == (
      theirs.runtime.as_dict())
  steps = [0, 1, 999, 1050, 2000, 12480, 23099, 73681]
  lr = OptimizerFactory(ours.trainer.optimizer_config).build_learning_rate()
  tfm_lr = tfm_optimization.OptimizerFactory(
      theirs.trainer.optimizer_config).build_learning_rate()
  np.testing.assert_array_equal([float(lr(s)) for s in steps],
                                [float(tfm_lr(s)) for s in steps])


def test_python_tuple_loads_as_a_tuple():
  ours, theirs = _both(VIDEO)
  assert ours.task.train_data.feature_shape == theirs.task.train_data.feature_shape
  assert ours.task.train_data.feature_shape == (32, 224, 224, 3)
  assert isinstance(ours.task.train_data.feature_shape, tuple)


def _decayed(optimizer_config, factory_cls):
  """Kernel and bias after one zero-gradient AdamW step: only decay moves them."""
  optimizer = factory_cls(optimizer_config).build_optimizer(0.1)
  kernel = tf.Variable(tf.ones([2, 2]), name='dense/kernel')
  bias = tf.Variable(tf.ones([2]), name='dense/bias')
  optimizer.apply_gradients([(tf.zeros([2, 2]), kernel), (tf.zeros([2]), bias)])
  return kernel.numpy(), bias.numpy()


def test_vit_weight_decay_pattern_string_matches_tfm_on_its_list():
  """TFM iterates a string pattern character by character; as a list it is the regex."""
  ours, theirs = _both(VIT)
  pattern = theirs.trainer.optimizer_config.optimizer.adamw.include_in_weight_decay
  assert ours.trainer.optimizer_config.optimizer.adamw.include_in_weight_decay == pattern
  theirs.trainer.optimizer_config.optimizer.adamw.include_in_weight_decay = [pattern]
  kernel, bias = _decayed(ours.trainer.optimizer_config, OptimizerFactory)
  tfm_kernel, tfm_bias = _decayed(theirs.trainer.optimizer_config,
                                  tfm_optimization.OptimizerFactory)
  np.testing.assert_array_equal(kernel, tfm_kernel)
  np.testing.assert_array_equal(bias, tfm_bias)
  assert (kernel < 1).all()


def test_config_file_with_python_tuple_through_the_parser(tmp_path):
  path = tmp_path / 'tuple.yaml'
  path.write_text('task:\n  model:\n    mlp:\n      hidden_sizes: !!python/tuple [32, 16]\n')
  params = experiment_parser.parse_configuration(experiment_parser.ParseConfigOptions(
      experiment='digits_mlp', config_file=[str(path)]), print_return=False)
  assert list(params.task.model.mlp.hidden_sizes) == [32, 16]


def test_other_python_tags_are_refused_naming_the_file(tmp_path):
  path = tmp_path / 'evil.yaml'
  path.write_text("trainer: !!python/object/apply:os.system ['true']\n")
  with pytest.raises(ConfigError) as error:
    experiment_parser.parse_configuration(experiment_parser.ParseConfigOptions(
        experiment='digits_mlp', config_file=[str(path)]), print_return=False)
  assert str(path) in str(error.value) and 'python/tuple' in str(error.value)
