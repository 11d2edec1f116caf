"""The README's Python examples run as written and do what the text says."""
import os
import re

import numpy as np
import tensorflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _python_blocks():
  with open(os.path.join(ROOT, 'README.md'), encoding='utf-8') as f:
    return re.findall(r'```python\n(.*?)```', f.read(), flags=re.S)


def _block(containing):
  matches = [b for b in _python_blocks() if containing in b]
  assert len(matches) == 1, f'README must have one python block with {containing!r}'
  return matches[0]


def test_seed_example_matches_tfm():
  from official.modeling import optimization as tfm_optimization  # pylint: disable=g-import-not-at-top
  scope = {}
  exec(_block('opt_factory = optimization.OptimizerFactory'), scope)  # pylint: disable=exec-used
  tfm_factory = tfm_optimization.OptimizerFactory(
      tfm_optimization.OptimizationConfig(scope['params']))
  tfm_lr = tfm_factory.build_learning_rate()
  for step in (0, 250, 499, 500, 9999, 10000, 20000, 30000):
    np.testing.assert_allclose(float(scope['lr'](step)), float(tfm_lr(step)), rtol=1e-6)
  assert type(scope['optimizer']).__name__ == 'SGD'
  assert float(scope['optimizer'].momentum) == np.float32(0.9)


def test_registration_example_builds_the_registered_optimizer():
  scope = {}
  exec(_block("register_optimizer('my_sgd'"), scope)  # pylint: disable=exec-used
  assert type(scope['my_sgd']).__name__ == 'MySGD'
  assert float(scope['my_sgd'].momentum) == np.float32(0.8)


def test_task_example_trains(tmp_path):
  from official_like.core import exp_factory, task_factory, train_lib  # pylint: disable=g-import-not-at-top,multiple-imports
  scope = {}
  exec(_block('class ToyTask'), scope)  # pylint: disable=exec-used
  params = exp_factory.get_exp_config('toy')
  strategy = tf.distribute.OneDeviceStrategy('/cpu:0')
  with strategy.scope():
    task = task_factory.get_task(params.task)
  assert isinstance(task, scope['ToyTask'])
  model, logs = train_lib.run_experiment(strategy, task, 'train_and_eval', params,
                                         str(tmp_path), run_post_eval=True)
  assert np.isfinite(logs['validation_loss']) and logs['validation_loss'] < 1.0
  optimizer = task.create_optimizer(params.trainer.optimizer_config, params.runtime)
  assert float(optimizer.clipnorm) == np.float32(0.5)
  assert model.built
