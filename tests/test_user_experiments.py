"""Your own experiment, outside this repository, trained without editing ours.

The README's ToyTask module is written to a temporary directory and reached
the three documented ways: `--import=file.py`, `--experiment=module:name`,
and an installed package's entry point.
"""
import os
import re
import subprocess
import sys

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _toy_module(directory) -> str:
  with open(os.path.join(REPO, 'README.md'), encoding='utf-8') as f:
    blocks = re.findall(r'```python\n(.*?)```', f.read(), flags=re.S)
  (block,) = [b for b in blocks if 'class ToyTask' in b]
  path = os.path.join(directory, 'toy.py')
  with open(path, 'w', encoding='utf-8') as f:
    f.write(block)
  return path


def _run(*args, env=None):
  return subprocess.run([sys.executable, 'trainer_main.py', *args], cwd=REPO,
                        capture_output=True, text=True, timeout=300, check=False,
                        env={**os.environ, **(env or {})})


def test_readme_task_trains_from_its_own_file(tmp_path):
  toy = _toy_module(tmp_path)
  model_dir = tmp_path / 'model'
  proc = _run(f'--import={toy}', '--experiment=toy', f'--model_dir={model_dir}',
              '--params_override=trainer.train_steps=40,trainer.validation_interval=20')
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert 'Final evaluation: validation_loss=' in proc.stdout
  params = yaml.safe_load((model_dir / 'params.yaml').read_text())
  assert params['runtime']['distribution_strategy'] == 'one_device'  # As the README states.
  assert params['trainer']['optimizer_config']['optimizer']['adam']['clipnorm'] is None
  effective = (model_dir / 'optimizer_config.effective.yaml').read_text()
  assert yaml.safe_load(effective)['optimizer']['adam']['clipnorm'] == 0.5
  assert 'optimizer.adam.clipnorm: None -> 0.5' in effective
  assert 'The task changed trainer.optimizer_config' in proc.stderr
  # toy.py imports TensorFlow before trainer_main does: its start-up stays quiet.
  assert 'cuInit' not in proc.stderr and 'cuda' not in proc.stderr.lower(), proc.stderr


def test_module_colon_name_and_entry_point_find_the_experiment(tmp_path):
  _toy_module(tmp_path)
  dist = tmp_path / 'site' / 'toy_experiments-0.1.dist-info'
  dist.mkdir(parents=True)
  (dist / 'METADATA').write_text('Metadata-Version: 2.1\nName: toy-experiments\nVersion: 0.1\n')
  (dist / 'entry_points.txt').write_text('[official_like.experiments]\ntoy = toy\n')
  env = {'PYTHONPATH': os.pathsep.join([str(tmp_path / 'site'), str(tmp_path)])}
  # A bad value stops each run right after the experiment was found and built.
  for name in ('toy:toy', 'toy'):
    proc = _run(f'--experiment={name}', f'--model_dir={tmp_path / name}',
                '--params_override=trainer.train_steps=0', env=env)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert proc.stderr.strip().splitlines()[-1] == (
        'trainer_main.py: error: trainer.train_steps: must be > 0, got 0')


def test_experiment_list_names_every_experiment_with_a_description(tmp_path):
  proc = _run(f'--import={_toy_module(tmp_path)}', '--experiment=list')
  assert proc.returncode == 0, proc.stderr
  listed = {}
  for line in proc.stdout.splitlines():
    name, *doc = line.split(None, 1)
    listed[name] = doc[0] if doc else ''
  assert {'toy', 'digits_mlp', 'digits_cnn', 'diabetes_regression'} <= set(listed)
  assert listed['digits_mlp'].startswith('An MLP on the flattened 8x8 digits')


def test_a_module_name_from_its_own_folder_gets_a_hint_that_works(tmp_path):
  """`--experiment=toy:toy` next to toy.py: Python does not search the current directory."""
  _toy_module(tmp_path)
  script = os.path.join(REPO, 'trainer_main.py')

  def run_here(*args):
    return subprocess.run([sys.executable, script, *args, f'--model_dir={tmp_path / "m"}',
                           '--params_override=trainer.train_steps=0'], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, check=False)
  for args, fix in [(['--experiment=toy:toy'], '--import=toy.py --experiment=toy'),
                    (['--import=toy', '--experiment=toy'], '--import=toy.py')]:
    proc = run_here(*args)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "No module named 'toy'; toy.py is in the current directory" in proc.stderr
    assert f'give the file, {fix}, or run with PYTHONPATH=.' in proc.stderr
    followed = fix.split() + [a for a in args if a.startswith('--experiment=')
                              and '--experiment' not in fix]
    fixed = run_here(*followed)  # The hint, followed: the experiment is found.
    assert fixed.stderr.strip().splitlines()[-1] == (
        'trainer_main.py: error: trainer.train_steps: must be > 0, got 0'), fixed.stderr


def test_a_task_without_register_task_cls_says_how_to_register_it(tmp_path):
  toy = _toy_module(tmp_path)
  with open(toy, encoding='utf-8') as f:
    text = f.read()
  with open(toy, 'w', encoding='utf-8') as f:
    f.write(text.replace('@task_factory.register_task_cls(ToyConfig)\n', ''))
  proc = _run(f'--import={toy}', '--experiment=toy', f'--model_dir={tmp_path / "m"}')
  assert proc.returncode == 2, proc.stderr[-3000:]
  error = proc.stderr.strip().splitlines()[-1]
  assert error.startswith("trainer_main.py: error: task: unknown task 'ToyConfig'; "), error
  assert 'decorate your Task class with @task_factory.register_task_cls(ToyConfig)' in error
  assert not (tmp_path / 'm').exists()
