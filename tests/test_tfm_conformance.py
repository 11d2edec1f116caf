"""TFM's own unit tests, run against official_like: the drop-in contract.

At test time the test files listed in `TFM_TESTS` (and the fixtures they
import) are copied from the installed `official` package into a temporary
directory, their imports are pointed at `official_like`, and they run in one
pytest subprocess. Every TFM test must pass, unless it is listed below:
`WAIVED` where official_like is deliberately different (one line each on
why), `OUT_OF_SCOPE` for TFM internals a lean core leaves out. A listed test
that starts passing is an error too, so the lists stay true. Nothing of
TFM's is kept in this repository.
"""
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import pytest

import official

OFFICIAL = os.path.dirname(official.__file__)
TFM_TESTS = (
    'modeling/hyperparams/base_config_test.py',
    'modeling/hyperparams/oneof_test.py',
    'modeling/optimization/lr_schedule_test.py',
    'modeling/optimization/optimizer_factory_test.py',
    'modeling/optimization/lamb_test.py',
    'modeling/optimization/configs/optimization_config_test.py',
    'core/base_trainer_test.py',
    'core/train_lib_test.py',
    'core/train_utils_test.py',
    'core/actions_test.py',
    'core/registry_test.py',
)
FIXTURES = {'utils/testing/mock_task.py': 'mock_task', 'core/test_utils.py': 'test_utils'}
# Text rewrites, in order; the last points every `official.` at official_like.
REWRITES = (
    ('from official.utils.testing import mock_task', 'import mock_task'),
    ('from official.core import test_utils', 'import test_utils'),
    # TFM's registry_imports registers its model zoo; ours is `experiments`.
    ('from official.common import registry_imports', 'import experiments as registry_imports'),
    # The async (parameter-server) trainer is out of scope; its mock subclasses it.
    ('trainer_lib._AsyncTrainer', 'object'),
    (re.compile(r'\bofficial\.'), 'official_like.'),
)

WAIVED = {
    'base_config_test.py::BaseConfigTest::test_replace':
        'a field declared DumpConfig1 keeps its type: storing a DumpConfig2 there is '
        'refused',
}
OUT_OF_SCOPE = {
    'base_trainer_test.py::TrainerTest::test_base_async_trainer':
        'the private async trainer for ParameterServerStrategy',
    'base_trainer_test.py::TrainerTest::test_async_trainer_train':
        'the private async trainer for ParameterServerStrategy',
    'base_trainer_test.py::TrainerTest::test_async_trainer_validate':
        'the private async trainer for ParameterServerStrategy',
}


COUNTS = {}  # outcome -> number of TFM tests, for the summary (conftest.py).


def summary_lines():
  """The waiver list and the outcome counts, printed at the end of `make test`."""
  lines = [f"TFM's own tests against official_like: "
           + ', '.join(f'{n} {outcome}' for outcome, n in sorted(COUNTS.items()))]
  for title, table in (('waived (deliberately different)', WAIVED),
                       ('out of scope', OUT_OF_SCOPE)):
    lines.append(f'{title}:')
    for why in sorted(set(table.values())):
      tests = sorted(test for test, reason in table.items() if reason == why)
      lines.append(f"  {', '.join(tests)}")
      lines.append(f'    -> {why}')
  return lines


def _rewrite(text: str) -> str:
  for old, new in REWRITES:
    text = old.sub(new, text) if isinstance(old, re.Pattern) else text.replace(old, new)
  return text


@pytest.fixture(name='tfm_results', scope='module')
def fixture_tfm_results(tmp_path_factory):
  """{'file.py::Class::test': 'passed'|'failed'|'skipped'} for every TFM test."""
  work = tmp_path_factory.mktemp('tfm_tests')
  for path in TFM_TESTS:
    with open(os.path.join(OFFICIAL, path), encoding='utf-8') as f:
      (work / os.path.basename(path)).write_text(_rewrite(f.read()))
  for path, module in FIXTURES.items():
    with open(os.path.join(OFFICIAL, path), encoding='utf-8') as f:
      (work / f'{module}.py').write_text(_rewrite(f.read()))
  # TF's strategy combinations read absl flags; pytest's own argv is not theirs.
  (work / 'conftest.py').write_text('from absl import flags\nflags.FLAGS.mark_as_parsed()\n')
  report = work / 'report.xml'
  proc = subprocess.run(
      [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', f'--junitxml={report}',
       '--rootdir', str(work), str(work)],
      cwd=work, capture_output=True, text=True, timeout=900, check=False,
      env={**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '3'})
  assert report.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
  results = {}
  for case in ElementTree.parse(report).iter('testcase'):
    module, _, cls = case.get('classname').rpartition('.')
    outcome = 'passed'
    for child in case:
      if child.tag in ('failure', 'error'):
        outcome = 'failed'
      elif child.tag == 'skipped' and outcome == 'passed':
        outcome = 'skipped'
    key = f"{module.rpartition('.')[2] or cls}.py::{cls}::{case.get('name')}"
    if not module:  # A collection error is reported against the file.
      key = f'{cls}.py::{case.get("name")}'
    results[key] = outcome
  for outcome in results.values():
    COUNTS[outcome] = COUNTS.get(outcome, 0) + 1
  return results


@pytest.mark.parametrize('path', TFM_TESTS, ids=os.path.basename)
def test_tfm_tests_pass(tfm_results, path):
  name = os.path.basename(path)
  mine = {k: v for k, v in tfm_results.items() if k.startswith(name + '::')}
  assert mine, f'no test of {name} ran; results: {sorted(tfm_results)[:5]}'
  listed = {**WAIVED, **OUT_OF_SCOPE}
  unexpected = sorted(k for k, v in mine.items() if v == 'failed' and k not in listed)
  stale = sorted(k for k in listed if k.startswith(name + '::') and mine.get(k) != 'failed')
  assert not unexpected, f'TFM tests failing against official_like: {unexpected}'
  assert not stale, f'waived or out-of-scope tests that no longer fail (or no longer exist): {stale}'
