"""TFM zoo experiments shrunk to seconds: the flags and data the zoo run tests share.

Each experiment keeps its zoo model and input pipeline (ResNet on JPEG
classification records, RetinaNet with FPN on COCO-style boxes, a BERT
encoder on padded token ids) at toy sizes, reads records that
`experiments.zoo_tfrecords` writes, logs every step to TensorBoard and
checkpoints every other step. The learning-rate overrides give each run a
warmup into a decay, so the logged rates are not round numbers and a
rounding difference would show.
"""
import os
import subprocess
import sys
from typing import Dict, List

from experiments import zoo_tfrecords

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT = 600  # Seconds for one run: TensorFlow, the zoo's imports and tracing.

_RUNTIME = 'runtime.distribution_strategy=one_device,runtime.mixed_precision_dtype=float32'
_TRAINER = ('trainer.steps_per_loop=1,trainer.summary_interval=1,'
            'trainer.checkpoint_interval=2,trainer.validation_interval=1000')
_STEPWISE = ('trainer.optimizer_config.learning_rate.stepwise.boundaries=[5,7],'
             'trainer.optimizer_config.learning_rate.stepwise.values=[0.1,0.03,0.003],'
             'trainer.optimizer_config.warmup.linear.warmup_steps=3,'
             'trainer.optimizer_config.warmup.linear.warmup_learning_rate=0.01')
_TINY_RESNET = ('task.model.backbone.resnet.model_id=10,'
                'task.model.backbone.resnet.depth_multiplier=0.25')


def _data(kind: str, augment: bool) -> str:
  """Reading the records `kind`; augment=False turns the random crop and flip off."""
  both = (f'task.train_data.input_path={{{kind}}},task.validation_data.input_path={{{kind}}},'
          'task.train_data.shuffle_buffer_size=16')
  if kind == 'classification' and not augment:
    return both + ',task.train_data.aug_rand_hflip=false,task.train_data.aug_crop=false'
  if kind == 'detection' and augment:
    return both + (',task.train_data.parser.aug_rand_hflip=true,'
                   'task.train_data.parser.aug_scale_min=0.8,'
                   'task.train_data.parser.aug_scale_max=1.2')
  if kind == 'detection':
    return both + (',task.train_data.parser.aug_rand_hflip=false,'
                   'task.train_data.parser.aug_scale_min=1.0,'
                   'task.train_data.parser.aug_scale_max=1.0')
  return both


# experiment -> (TFM's binary, its registry module, the records it reads, its overrides).
EXPERIMENTS = {
    'resnet_imagenet': (
        'official.vision.train', 'official.vision.registry_imports', 'classification',
        ','.join([_RUNTIME, 'runtime.enable_xla=false', _TRAINER, _STEPWISE, _TINY_RESNET,
                  'task.model.num_classes=10,task.model.input_size=[32,32,3]',
                  'task.train_data.global_batch_size=8,task.validation_data.global_batch_size=8'
                  ])),
    'retinanet_resnetfpn_coco': (
        'official.vision.train', 'official.vision.registry_imports', 'detection',
        ','.join([_RUNTIME, _TRAINER, _STEPWISE, _TINY_RESNET,
                  "task.init_checkpoint='',task.annotation_file=''",
                  'task.model.num_classes=4,task.model.input_size=[128,128,3]',
                  'task.model.decoder.fpn.num_filters=16,task.model.head.num_filters=16',
                  'task.model.head.num_convs=1',
                  'task.train_data.global_batch_size=4,task.validation_data.global_batch_size=4'
                  ])),
    'bert/sentence_prediction': (
        'official.nlp.train', 'official.nlp.configs.finetuning_experiments', 'sentence_prediction',
        ','.join([_RUNTIME, _TRAINER,
                  'trainer.optimizer_config.learning_rate.polynomial.decay_steps=8',
                  'trainer.optimizer_config.learning_rate.polynomial.initial_learning_rate=0.001',
                  'trainer.optimizer_config.warmup.polynomial.warmup_steps=3',
                  'task.model.num_classes=2',
                  'task.model.encoder.bert.num_layers=1,task.model.encoder.bert.hidden_size=16',
                  'task.model.encoder.bert.num_attention_heads=2',
                  'task.model.encoder.bert.intermediate_size=32',
                  'task.model.encoder.bert.vocab_size=100',
                  'task.model.encoder.bert.max_position_embeddings=16',
                  'task.train_data.seq_length=16,task.validation_data.seq_length=16',
                  'task.train_data.global_batch_size=8,task.validation_data.global_batch_size=8'
                  ])),
}


def write_data(directory: str) -> Dict[str, str]:
  """{kind: the TFRecord file} for the three kinds of records the experiments read."""
  return {
      'classification': zoo_tfrecords.classification(
          os.path.join(directory, 'classification.tfrecord'), image_size=32),
      'detection': zoo_tfrecords.detection(
          os.path.join(directory, 'detection.tfrecord'), image_size=128),
      'sentence_prediction': zoo_tfrecords.sentence_prediction(
          os.path.join(directory, 'sentence_prediction.tfrecord'), seq_length=16),
  }


def flags(experiment: str, data: Dict[str, str], model_dir: str, train_steps: int,
          augment: bool = True, extra_overrides: str = '', mode: str = 'train') -> List[str]:
  """The flags of a `--mode=train` (or `mode`) run of `experiment` for `train_steps` steps."""
  _, _, kind, overrides = EXPERIMENTS[experiment]
  overrides = ','.join(filter(None, [
      overrides, _data(kind, augment).format(**data),
      f'trainer.train_steps={train_steps}', extra_overrides]))
  return [f'--experiment={experiment}', f'--mode={mode}', f'--model_dir={model_dir}',
          f'--params_override={overrides}']


def run(argv: List[str]) -> subprocess.CompletedProcess:
  """Runs `python argv...` from the repository root; the result, output captured."""
  return subprocess.run([sys.executable, *argv], cwd=REPO, capture_output=True, text=True,
                        timeout=TIMEOUT, check=False)
