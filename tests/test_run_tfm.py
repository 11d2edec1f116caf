"""`python -m official_like.common.run_tfm PROGRAM FLAGS...`: a program on our core.

TFM's own binaries through the runner: tests/test_zoo_runs.py. Here a user's
script, which sees TFM's core names as ours and its own arguments, and the
one-line errors.
"""
import subprocess
import sys
import textwrap

import pytest

from official_like.common import run_tfm

RUNNER = [sys.executable, '-m', 'official_like.common.run_tfm']


def _run(*args, cwd=None):
  return subprocess.run([*RUNNER, *args], capture_output=True, text=True, timeout=120,
                        check=False, cwd=cwd)


def test_a_script_runs_as_main_on_our_core_with_its_own_arguments(tmp_path):
  script = tmp_path / 'train.py'
  script.write_text(textwrap.dedent('''
      import sys
      from official.core import exp_factory
      if __name__ == '__main__':
        print(exp_factory.__name__, sys.argv[1:])
        sys.exit(3)
      '''))
  proc = _run(str(script), '--experiment=x', '--mode=train')
  assert proc.returncode == 3, proc.stderr
  assert proc.stdout.splitlines() == ["official_like.core.exp_factory ['--experiment=x', "
                                      "'--mode=train']"]


def test_a_module_runs_as_main(tmp_path):
  (tmp_path / 'my_train.py').write_text(
      'import official.modeling.optimization as o\nprint(__name__, o.__name__)\n')
  proc = _run('my_train', cwd=tmp_path)
  assert proc.returncode == 0, proc.stderr
  assert proc.stdout.splitlines() == ['__main__ official_like.modeling.optimization']


@pytest.mark.parametrize('args, error', [
    ([], run_tfm.USAGE),
    (['--experiment=resnet_imagenet'], run_tfm.USAGE),
    (['official.vision.trian', '--mode=train'],
     f"run_tfm: error: no module named 'official.vision.trian'; {run_tfm.USAGE}"),
    (['no_such_package.train'],
     f"run_tfm: error: no module named 'no_such_package.train'; {run_tfm.USAGE}"),
    (['missing.py'], f"run_tfm: error: no such file 'missing.py'; {run_tfm.USAGE}"),
])
def test_a_bad_program_is_one_line_and_exit_2(args, error):
  proc = _run(*args)
  assert proc.returncode == 2
  assert proc.stderr.splitlines() == [error]
  assert not proc.stdout
