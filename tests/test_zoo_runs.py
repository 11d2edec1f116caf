"""TFM's model zoo trains on official_like: TFM's own binaries and our command line.

Each zoo experiment (`tests/zoo_runs.py`: a tiny ResNet, RetinaNet and BERT
on TFRecords written here) runs three ways, each in its own process:
- TFM's binary on TFM's core (`python -m official.vision.train ...`), the
  reference;
- the same binary, unedited, on our core
  (`python -m official_like.common.run_tfm official.vision.train ...`),
  stopped half-way and run again to the end;
- for ResNet, `trainer_main.py --import=official.vision.registry_imports`.
The learning rate each run logs to `model_dir/train` must equal TFM's, bit
for bit, at every step.
"""
import concurrent.futures
import os

import numpy as np
import pytest
import tensorflow as tf

import event_files
from test_trainer_main import our_stderr_lines
import zoo_runs

STEPS = 8
HALF = STEPS // 2
OUR_CORE_ONLY = os.path.join('train', 'lr_schedule')  # Our planned curve; TFM has none.


@pytest.fixture(name='data', scope='module')
def fixture_data(tmp_path_factory):
  return zoo_runs.write_data(str(tmp_path_factory.mktemp('zoo_data')))


@pytest.fixture(name='tfm_runs', scope='module')
def fixture_tfm_runs(data, tmp_path_factory):
  """experiment -> a future of TFM's binary on TFM's core (its model_dir).

  Started on first use, so it runs while the test runs ours (two cores).
  """
  started = {}

  def run(experiment, model_dir):
    proc = zoo_runs.run(['-m', zoo_runs.EXPERIMENTS[experiment][0],
                         *zoo_runs.flags(experiment, data, model_dir, STEPS)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return model_dir

  with concurrent.futures.ThreadPoolExecutor() as pool:
    def start(experiment):
      if experiment not in started:
        started[experiment] = pool.submit(run, experiment, str(tmp_path_factory.mktemp('tfm')))
      return started[experiment]
    yield start


def learning_rates(model_dir):
  return event_files.scalars(os.path.join(model_dir, 'train'))['learning_rate']


def train_in_two_runs(command, model_dir) -> str:
  """Runs `command(train_steps)` to step HALF, then again to STEPS; the second's stderr."""
  for steps in (HALF, STEPS):
    proc = zoo_runs.run(command(steps))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert tf.train.latest_checkpoint(model_dir).endswith(f'ckpt-{steps}')
  return proc.stderr


def assert_resumed_on_our_core_with_tfms_rates(ours, tfm):
  assert os.path.isdir(os.path.join(ours, OUR_CORE_ONLY))
  assert not os.path.exists(os.path.join(tfm, OUR_CORE_ONLY))
  assert list(learning_rates(tfm)) == list(range(1, STEPS + 1))
  assert learning_rates(ours) == learning_rates(tfm)
  # The second run continued from step HALF: its events start right after.
  first_steps = [first for first, _ in event_files.read_events(os.path.join(ours, 'train'))]
  assert first_steps == [1, HALF + 1]


@pytest.mark.slow
@pytest.mark.parametrize('experiment', list(zoo_runs.EXPERIMENTS))
def test_tfm_binary_on_our_core_logs_tfms_learning_rate_and_resumes(experiment, data,
                                                                    tfm_runs, tmp_path):
  tfm = tfm_runs(experiment)
  binary = zoo_runs.EXPERIMENTS[experiment][0]
  ours = str(tmp_path / 'ours')
  train_in_two_runs(lambda steps: ['-m', 'official_like.common.run_tfm', binary,
                                   *zoo_runs.flags(experiment, data, ours, steps)], ours)
  assert_resumed_on_our_core_with_tfms_rates(ours, tfm.result())


def trainer_main(experiment, *args):
  return ['trainer_main.py', f'--import={zoo_runs.EXPERIMENTS[experiment][1]}', *args]


@pytest.mark.slow
def test_trainer_main_trains_a_zoo_experiment_on_our_core_and_resumes(data, tfm_runs, tmp_path):
  tfm = tfm_runs('resnet_imagenet')
  ours = str(tmp_path / 'ours')
  resumed = train_in_two_runs(lambda steps: trainer_main(
      'resnet_imagenet', *zoo_runs.flags('resnet_imagenet', data, ours, steps)), ours)
  assert_resumed_on_our_core_with_tfms_rates(ours, tfm.result())
  # The zoo's random crop and flip are stateful: the position resumes, said once.
  assert resumed.count('The training input resumes at its position, but RandomUniform, '
                       'SampleDistortedBoundingBoxV2 in its pipeline are stateful') == 1
  assert 'Input resumes at example 0 of epoch 1 (32 examples an epoch' in resumed


@pytest.mark.slow
def test_trainer_main_previews_a_zoo_experiments_learning_rate(data, tfm_runs, tmp_path):
  model_dir = str(tmp_path / 'preview')
  proc = zoo_runs.run(trainer_main(
      'resnet_imagenet', *zoo_runs.flags('resnet_imagenet', data, model_dir, STEPS,
                                         mode='lr_preview')))
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert 'Stepwise with linear warmup; optimizer sgd, 8 steps, global batch 8' in proc.stdout
  assert sorted(os.listdir(model_dir)) == ['lr_schedule.csv', 'lr_schedule.png']
  rows = np.loadtxt(os.path.join(model_dir, 'lr_schedule.csv'), delimiter=',', skiprows=1)
  planned = {int(step): np.float32(value) for step, value in rows}
  logged = learning_rates(tfm_runs('resnet_imagenet').result())
  assert {step: planned[step] for step in logged} == {
      step: np.float32(value) for step, value in logged.items()}


@pytest.mark.parametrize('override, error', [
    ('task.model.backbone.resnet.model_idd=18',
     "task.model.backbone.resnet.model_idd: unknown key; did you mean 'model_id'?"),
    ('task.train_data.global_batch_size=eight',
     "task.train_data.global_batch_size: expected int, got str 'eight'"),
])
def test_trainer_main_refuses_a_zoo_override_typo_in_one_line(override, error, tmp_path):
  model_dir = str(tmp_path / 'model')
  proc = zoo_runs.run(trainer_main('resnet_imagenet', '--experiment=resnet_imagenet',
                                   '--mode=train', f'--model_dir={model_dir}',
                                   f'--params_override={override}'))
  assert proc.returncode == 2
  [line] = our_stderr_lines(proc.stderr)
  assert line.startswith(f'trainer_main.py: error: {error}')
  assert not os.path.exists(model_dir)
