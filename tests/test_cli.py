"""The command line fails fast: every bad input is one line, exit 2, before TensorFlow.

Each case runs `trainer_main.py` in its own process through a small wrapper
that reports, on exit, whether `tensorflow` was imported. Existing model
directories must be left byte for byte as they were; fresh ones must not be
created.
"""
import concurrent.futures
import os
import subprocess
import sys

import pytest

import experiments  # noqa: F401  (registers digits_mlp; no TensorFlow)
from model_dirs import populate, snapshot
from official_like.core import exp_factory

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WRAPPER = '''
import runpy, sys
sys.argv = ['trainer_main.py'] + sys.argv[1:]
try:
  runpy.run_path('trainer_main.py', run_name='__main__')
finally:
  print('TF_LOADED', 'tensorflow' in sys.modules, file=sys.stderr)
'''
OPT = 'trainer.optimizer_config'
LR = f'{OPT}.learning_rate'
# name: (arguments; {d} is the case's scratch directory), model_dir kind, substrings.
CASES = {
    'unknown_flag': (['--modle_dir=x'], None, ['--modle_dir', "did you mean '--model_dir'"]),
    'bad_mode': (['--mode=trian'], 'fresh', ['--mode', "'trian'", "did you mean 'train'"]),
    'bad_int_flag': (['--num_gpus=two'], 'fresh', ['--num_gpus', 'two']),
    'positional': (['extra'], 'fresh', ["unexpected argument 'extra'"]),
    'missing_experiment': ([], 'fresh', ['--experiment', 'required', 'digits_mlp']),
    'unknown_experiment': (['--experiment=digits_mpl'], 'existing',
                           ["did you mean 'digits_mlp'", 'diabetes_regression']),
    'missing_model_dir': (['--experiment=digits_mlp'], None, ['--model_dir', 'required']),
    'model_dir_is_file': (['--experiment=digits_mlp', '--model_dir={d}/file'], None,
                          ['--model_dir', 'is a file']),
    'import_missing_module': (['--import=no_such_module_xyz', '--experiment=digits_mlp'],
                              'fresh', ['--import', 'no_such_module_xyz']),
    'import_missing_file': (['--import={d}/nowhere.py', '--experiment=digits_mlp'], 'fresh',
                            ['--import', 'nowhere.py']),
    'experiment_module_missing': (['--experiment=no_such_mod:toy'], 'fresh',
                                  ["cannot import module 'no_such_mod'"]),
    'unknown_key': (['--params_override=task.model.mlp.hiden_sizes=[8]'], 'existing',
                    ['task.model.mlp.hiden_sizes', "did you mean 'hidden_sizes'"]),
    'bad_int': (['--params_override=trainer.train_steps=abc'], 'existing',
                ['trainer.train_steps', 'int', "'abc'"]),
    'bad_float': (['--params_override=trainer.loss_upper_bound=abc'], 'existing',
                  ['trainer.loss_upper_bound', 'float', "'abc'"]),
    'bad_bool': (['--params_override=trainer.train_tf_function=maybe'], 'existing',
                 ['trainer.train_tf_function', 'bool']),
    'bad_list': (['--params_override=task.model.mlp.hidden_sizes=5'], 'existing',
                 ['task.model.mlp.hidden_sizes']),
    **{f'{key}_zero': ([f'--params_override=trainer.{key}=0'], 'existing',
                       [f'trainer.{key}', 'must be > 0, got 0'])
       for key in ('train_steps', 'steps_per_loop', 'summary_interval',
                   'checkpoint_interval', 'validation_interval', 'max_to_keep',
                   'loss_upper_bound')},
    'train_steps_negative': (['--params_override=trainer.train_steps=-5'], 'existing',
                             ['trainer.train_steps', 'must be > 0, got -5']),
    'summary_interval': (['--params_override=trainer.steps_per_loop=30,'
                          'trainer.summary_interval=20'], 'existing',
                         ['trainer.summary_interval', 'multiple of steps_per_loop']),
    'validation_steps': (['--params_override=trainer.validation_steps=0'], 'existing',
                         ['trainer.validation_steps']),
    'metric_comp': (['--params_override=trainer.best_checkpoint_metric_comp=max'],
                    'existing', ['best_checkpoint_metric_comp', "'max'", 'higher']),
    'recovery_trials': (['--params_override=trainer.recovery_max_trials=-2'], 'existing',
                        ['trainer.recovery_max_trials', '>= -1']),
    'recovery_begin': (['--params_override=trainer.recovery_begin_steps=-1'], 'existing',
                       ['trainer.recovery_begin_steps', '>= 0']),
    'strategy_typo': (['--params_override=runtime.distribution_strategy=mirorred'],
                      'existing', ["did you mean 'mirrored'"]),
    'parameter_server': (['--params_override=runtime.distribution_strategy=parameter_server'],
                         'existing', ['parameter_server', 'multi_worker_mirrored']),
    'precision': (['--params_override=runtime.mixed_precision_dtype=float64'], 'existing',
                  ['runtime.mixed_precision_dtype', 'float64']),
    'loss_scale': (['--params_override=runtime.loss_scale=static'], 'existing',
                   ['runtime.loss_scale', 'dynamic']),
    'num_gpus': (['--params_override=runtime.num_gpus=-1'], 'existing',
                 ['runtime.num_gpus', '>= 0']),
    'private_threads': (['--params_override=runtime.dataset_num_private_threads=0'],
                        'existing', ['runtime.dataset_num_private_threads', '> 0']),
    'unsupported_runtime': (['--params_override=runtime.gpu_thread_mode=gpu_private'],
                            'existing', ['runtime.gpu_thread_mode', 'not supported']),
    'unsupported_task': (['--params_override=task.allow_image_summary=true'], 'existing',
                         ['task.allow_image_summary', 'not supported']),
    'unsupported_data': (['--params_override=task.train_data.enable_tf_data_service=true'],
                         'existing', ['enable_tf_data_service', 'not supported']),
    'batch_zero': (['--params_override=task.train_data.global_batch_size=0'], 'existing',
                   ['task.train_data.global_batch_size', '> 0']),
    'split': (['--params_override=task.validation_data.split=test'], 'existing',
              ['task.validation_data.split', "'test'", 'validation']),
    'input_path': (['--params_override=task.train_data.input_path={d}/none-*.tfrecord'],
                   'existing', ['task.train_data.input_path', 'no file matched']),
    'autotune': (['--params_override=task.train_data.autotune_algorithm=FAST'], 'existing',
                 ['autotune_algorithm', 'HILL_CLIMB']),
    'cycle_length': (['--params_override=task.train_data.cycle_length=0'], 'existing',
                     ['task.train_data.cycle_length', '> 0']),
    'optimizer_type': ([f'--params_override={OPT}.optimizer.type=sgdd'], 'existing',
                       ['optimizer.type', "did you mean 'sgd'"]),
    'lr_type': ([f'--params_override={LR}.type=cosin'], 'existing',
                ['learning_rate.type', "did you mean 'cosine'"]),
    'momentum': ([f'--params_override={OPT}.optimizer.sgd.momentum=2'], 'existing',
                 ['optimizer.sgd.momentum', '[0.0, 1.0]']),
    'clipnorm': ([f'--params_override={OPT}.optimizer.sgd.clipnorm=-1'], 'existing',
                 ['optimizer.sgd.clipnorm', '> 0']),
    'two_clips': ([f'--params_override={OPT}.optimizer.sgd.clipnorm=1,'
                   f'{OPT}.optimizer.sgd.global_clipnorm=1'], 'existing',
                  ['global_clipnorm', 'clipnorm']),
    'beta': ([f'--params_override={OPT}.optimizer.type=adam,{OPT}.optimizer.adam.beta_1=1'],
             'existing', ['optimizer.adam.beta_1', '[0.0, 1.0)']),
    'warmup_steps': ([f'--params_override={OPT}.warmup.linear.warmup_steps=-1'], 'existing',
                     ['warmup.linear.warmup_steps', '>= 0']),
    'boundaries': ([f'--params_override={LR}.type=stepwise,{LR}.stepwise.boundaries=[10,5],'
                    f'{LR}.stepwise.values=[1,2,3]'], 'existing',
                   ['stepwise.boundaries', 'strictly increasing']),
    'override_yaml': (['--params_override={a: [1'], 'existing',
                      ['--params_override', 'invalid YAML']),
    'override_not_mapping': (['--params_override=trainer.train_steps'], 'existing',
                             ['--params_override', 'expected a mapping']),
    'missing_config_file': (['--config_file={d}/nowhere.yaml'], 'fresh',
                            ['--config_file', 'not found', 'nowhere.yaml']),
    'bad_yaml_file': (['--config_file={d}/bad.yaml'], 'existing',
                      ['--config_file', 'bad.yaml', 'invalid YAML (line ']),
    'config_file_key': (['--config_file={d}/typo.yaml'], 'existing',
                        ['trainer.trian_steps', "did you mean 'train_steps'", 'typo.yaml']),
    'config_file_tag': (['--config_file={d}/evil.yaml'], 'existing',
                        ['evil.yaml', 'python/tuple']),
    'config_file_list': (['--config_file={d}/list.yaml'], 'existing',
                         ['list.yaml', 'expected a mapping']),
    'gin_missing_file': (['--gin_file={d}/nowhere.gin'], 'existing',
                         ['--gin_file', 'nowhere.gin']),
    'gin_unquoted': (['--gin_params=experiments.digits.build_mlp.activation=tanh'],
                     'existing', ['--gin_params', "activation='tanh'"]),
    'gin_file_parameter_typo': (['--gin_file={d}/typo.gin'], 'existing',
                                ['--gin_file', 'typo.gin', "no parameter 'activaton'",
                                 "did you mean 'activation'"]),
    'gin_file_configurable_typo': (['--gin_file={d}/name.gin'], 'existing',
                                   ['--gin_file', 'name.gin', "no configurable 'build_mpl'",
                                    "did you mean 'build_mlp'"]),
    'gin_params_key_typo': (["--gin_params=experiments.digits.build_mlp.activaton='tanh'"],
                            'existing', ['--gin_params', 'build_mlp', "no parameter 'activaton'",
                                         "did you mean 'activation'"]),
    'gin_params_run_typo': (['--gin_params=official_like.run_experiment.run_post_evl=True'],
                            'existing', ['--gin_params', "no parameter 'run_post_evl'",
                                         "did you mean 'run_post_eval'"]),
    'binary_config_file': (['--config_file={d}/binary.yaml'], 'existing',
                           ['--config_file', 'binary.yaml', 'not a YAML text file']),
    'model_dir_in_proc': (['--experiment=digits_mlp', '--model_dir=/proc/official_like_x'], None,
                          ['--model_dir', "'/proc/official_like_x' cannot be created"]),
    'schedule_fields_missing': ([f'--params_override={LR}.type=wsd'], 'existing',
                                [f'{LR}.wsd: initial_learning_rate and decay_steps are '
                                 "required by the 'StableDecay' schedule"]),
    'gin_syntax': (['--gin_params=experiments.digits.build_mlp.activation=[1,'], 'existing',
                   ['--gin_params', 'build_mlp.activation']),
    'init_checkpoint_missing': (['--params_override=task.init_checkpoint={d}/none/ckpt-5'],
                                'existing', ['task.init_checkpoint', 'no checkpoint at']),
    'eval_without_checkpoint': (['--mode=eval'], 'fresh',
                                ['--model_dir', 'has no checkpoint to evaluate']),
    'other_experiment': (['--experiment=diabetes_regression'], 'digits_run',
                         ["was trained with task.model.type='mlp'; you asked for "
                          'task.model.type=unset', 'more task settings differ',
                          'Use a new --model_dir']),
    'repeated_mode': (['--mode=train', '--mode=eval'], 'fresh',
                      ['--mode', "given twice ('train', then 'eval')", 'give it once']),
    'repeated_model_dir': (['--model_dir={d}/elsewhere'], 'fresh',
                           ['--model_dir', 'given twice', 'elsewhere']),
    'repeated_verbosity': (['--verbosity=1', '-v', '0'], 'fresh', ['--verbosity', 'given twice']),
    'other_model_shape': (['--params_override=task.model.mlp.hidden_sizes=[32]'],
                          'digits_run', ['was trained with task.model.mlp.hidden_sizes=[128, 64]; '
                                         'you asked for task.model.mlp.hidden_sizes=[32]. ']),
}
FILES = {'bad.yaml': 'trainer:\n  train_steps: [60\n',
         'typo.yaml': 'trainer:\n  trian_steps: 5\n',
         'evil.yaml': "trainer: !!python/object/apply:os.system ['true']\n",
         'list.yaml': '- 1\n- 2\n',
         'file': 'not a directory',
         'typo.gin': "experiments.digits.build_mlp.activaton = 'tanh'\n",
         'name.gin': "build_mpl.activation = 'tanh'\n"}


def _run(name, root):
  args, kind, _ = CASES[name]
  d = os.path.join(root, name)
  os.makedirs(d)
  for file_name, text in FILES.items():
    with open(os.path.join(d, file_name), 'w') as f:
      f.write(text)
  with open(os.path.join(d, 'binary.yaml'), 'wb') as f:
    f.write(b'\xff\xd8\xff\xe0 a JPEG, not YAML')
  args = [a.replace('{d}', d) for a in args]
  if not any(a.startswith('--experiment') for a in args) and name != 'missing_experiment':
    args.append('--experiment=digits_mlp')
  model_dir = os.path.join(d, 'model')
  if kind in ('existing', 'digits_run'):
    populate(model_dir)
  if kind == 'digits_run':  # A digits_mlp run's own params.yaml.
    with open(os.path.join(model_dir, 'params.yaml'), 'w') as f:
      f.write(exp_factory.get_exp_config('digits_mlp').as_yaml())
  if kind:
    args.append(f'--model_dir={model_dir}')
  before = snapshot(model_dir) if kind in ('existing', 'digits_run') else None
  proc = subprocess.run([sys.executable, '-c', WRAPPER, *args], cwd=REPO,
                        capture_output=True, text=True, timeout=120, check=False)
  return proc, model_dir, before


@pytest.fixture(name='results', scope='module')
def fixture_results(tmp_path_factory):
  root = str(tmp_path_factory.mktemp('cli'))
  with concurrent.futures.ThreadPoolExecutor(4) as pool:
    futures = {name: pool.submit(_run, name, root) for name in CASES}
    return {name: f.result() for name, f in futures.items()}


def test_there_are_at_least_fifty_cases():
  assert len(CASES) >= 50


@pytest.mark.parametrize('name', sorted(CASES))
def test_bad_input_is_one_line_before_tensorflow(results, name):
  proc, model_dir, before = results[name]
  _, kind, expected = CASES[name]
  lines = [line for line in proc.stderr.splitlines() if line.strip()]
  assert proc.returncode == 2, proc.stderr
  assert lines[-1] == 'TF_LOADED False', proc.stderr
  assert len(lines) == 2, proc.stderr
  error = lines[0]
  assert error.startswith('trainer_main.py: error: ')
  for text in expected:
    assert text in error, (text, error)
  assert proc.stdout == ''
  if kind == 'fresh':
    assert not os.path.exists(model_dir)
  elif kind in ('existing', 'digits_run'):
    assert snapshot(model_dir) == before


def _trainer_main(*args):
  return subprocess.run([sys.executable, '-c', WRAPPER, *args], cwd=REPO,
                        capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize('arg', ['--help', '-h', '--helpshort'])
def test_help_lists_our_flags_modes_and_experiments_without_tensorflow(arg):
  import trainer_main  # pylint: disable=g-import-not-at-top  (no TensorFlow either)
  from official_like.common import flags as tfm_flags  # pylint: disable=g-import-not-at-top
  proc = _trainer_main('--experiment=digits_mlp', arg)
  assert proc.returncode == 0, proc.stderr
  assert proc.stderr.strip() == 'TF_LOADED False', proc.stderr
  lines = proc.stdout.splitlines()
  for name in trainer_main.OUR_FLAGS:
    flag_lines = [line for line in lines if line.startswith(f'  --{name}=')]
    assert len(flag_lines) == 1, (name, proc.stdout)
    assert len(flag_lines[0].split(None, 1)) == 2, flag_lines  # Flag, then its help.
  for mode in tfm_flags.MODES + tfm_flags.TOOL_MODES:
    assert any(line.split()[:1] == [mode] for line in lines), mode
  for name in exp_factory.registered_experiments():
    assert any(line.split()[:1] == [name] for line in lines), name
  assert 'example:' in lines and '--helpfull' in proc.stdout
  assert len(lines) < 50


def test_readme_shows_the_help_s_flags_and_modes():
  proc = _trainer_main('--help')
  shown = 'flags:' + proc.stdout.split('flags:', 1)[1].split('\nexperiments:')[0]
  with open(os.path.join(REPO, 'README.md'), encoding='utf-8') as f:
    assert f'```\n{shown.rstrip()}\n```' in f.read(), shown


def test_helpfull_stays_absl_s():
  proc = _trainer_main('--helpfull')
  assert '--helpfull' in proc.stdout and 'absl.logging' in proc.stdout


def test_a_locked_model_dir_is_refused_before_tensorflow(tmp_path):
  """Another live process holds model_dir/.lock (here: this test): exit 2, one line."""
  import fcntl  # pylint: disable=g-import-not-at-top
  model_dir = tmp_path / 'model'
  model_dir.mkdir()
  with open(model_dir / '.lock', 'w') as lock:
    lock.write('pid 12345 on host elsewhere since 2026-01-01T00:00:00\n')
    lock.flush()
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    before = snapshot(str(model_dir))
    proc = _trainer_main('--experiment=digits_mlp', f'--model_dir={model_dir}')
    assert snapshot(str(model_dir)) == before
    evaluation = _trainer_main('--experiment=digits_mlp', f'--model_dir={model_dir}',
                               '--mode=lr_preview')
  lines = proc.stderr.strip().splitlines()
  assert proc.returncode == 2, proc.stderr
  assert lines == [f'trainer_main.py: error: model_dir {model_dir} is in use by another '
                   'training process (pid 12345 on host elsewhere since '
                   '2026-01-01T00:00:00); wait for it to end, stop it, or use another '
                   '--model_dir', 'TF_LOADED False'], lines
  assert 'in use' not in evaluation.stderr  # Only training takes the lock.
