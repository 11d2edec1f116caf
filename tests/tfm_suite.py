"""Runs TFM's own test files against official_like and reads back every test's outcome.

The machinery shared by `test_tfm_conformance.py` (TFM's core tests, their
imports rewritten to official_like) and `test_tfm_zoo.py` (TFM's model-zoo
tests, unedited, with `tfm_redirect` installed): copy the files out of the
installed `official` package into a temporary directory, run them in pytest
subprocesses, parse the JUnit XML, and check each file's outcomes against
the suite's lists of known differences. A listed test that stops failing is
an error too, so the lists stay true. Nothing of TFM's is kept in this
repository.
"""
import dataclasses
import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from typing import Callable, Dict, List, Sequence, Tuple

import official

OFFICIAL = os.path.dirname(official.__file__)
# TF's strategy combinations read absl flags; pytest's own argv is not theirs.
PARSE_FLAGS = 'from absl import flags\nflags.FLAGS.mark_as_parsed()\n'


@dataclasses.dataclass
class Suite:
  """A set of TFM test files and what is known about them, for the summary."""
  title: str
  tables: Sequence[Tuple[str, Dict[str, str]]]  # (heading, {test id: one-line reason})
  flaky: Dict[str, str] = dataclasses.field(default_factory=dict)  # May pass or fail.
  counts: Dict[str, int] = dataclasses.field(default_factory=dict)
  seconds: float = 0.0

  def listed(self) -> Dict[str, str]:
    """The tests expected to fail (the flaky ones are not)."""
    return {test: why for _, table in self.tables for test, why in table.items()}

  def summary_lines(self) -> List[str]:
    """The outcome counts and every listed test with its reason (printed by conftest.py)."""
    counts = ', '.join(f'{n} {outcome}' for outcome, n in sorted(self.counts.items()))
    lines = [f'{self.title}: {counts} ({self.seconds:.0f} s)']
    for heading, table in (*self.tables, ('flaky (either outcome accepted)', self.flaky)):
      if not table:
        continue
      lines.append(f'{heading}:')
      for why in sorted(set(table.values())):
        tests = sorted(test for test, reason in table.items() if reason == why)
        lines.append(f"  {', '.join(tests)}")
        lines.append(f'    -> {why}')
    return lines


SUITES: List[Suite] = []  # The suites that ran in this session, for conftest.py.


def local_name(path: str, paths: Sequence[str]) -> str:
  """The file name `path` is copied to: its base name, prefixed by its folder when two share it.

  (TFM has `vision/configs/image_classification_test.py` and
  `vision/serving/image_classification_test.py`; pytest cannot import both
  under one name.)
  """
  folder, _, base = path.rpartition('/')
  if sum(p.rpartition('/')[2] == base for p in paths) > 1:
    return f"{folder.rpartition('/')[2]}_{base}"
  return base


def copy_tests(work, paths: Sequence[str], transform: Callable[[str], str] = str) -> List[str]:
  """Copies `official/<path>` for each path into `work` through `transform`; returns the names."""
  names = [local_name(path, paths) for path in paths]
  for path, name in zip(paths, names):
    with open(os.path.join(OFFICIAL, path), encoding='utf-8') as f:
      (work / name).write_text(transform(f.read()))
  return names


def run_pytest(work, files: Sequence[str], timeout: int, tag: str = '') -> Dict[str, str]:
  """Runs `files` (base names in `work`, beside its conftest.py) in one pytest subprocess.

  Returns:
    {'file.py::Class::test': 'passed'|'failed'|'skipped'}; a file that fails
    to import appears as 'file.py::<collection>' failed.
  """
  report = work / f'report{tag}.xml'
  proc = subprocess.run(
      [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', f'--junitxml={report}',
       '--rootdir', str(work), *[str(work / name) for name in files]],
      cwd=work, capture_output=True, text=True, timeout=timeout, check=False,
      env={**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '3'})
  assert report.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
  return _outcomes(report)


def _outcomes(report) -> Dict[str, str]:
  results = {}
  for case in ElementTree.parse(report).iter('testcase'):
    module, _, cls = case.get('classname').rpartition('.')
    outcome = 'passed'
    for child in case:
      if child.tag in ('failure', 'error'):
        outcome = 'failed'
      elif child.tag == 'skipped' and outcome == 'passed':
        outcome = 'skipped'
    if module:
      key = f"{module.rpartition('.')[2]}.py::{cls}::{case.get('name')}"
    else:  # A collection error is reported against the file.
      key = f"{cls}.py::{case.get('name') or '<collection>'}"
    results[key] = outcome
  return results


def record(suite: Suite, results: Dict[str, str], seconds: float) -> None:
  for outcome in results.values():
    suite.counts[outcome] = suite.counts.get(outcome, 0) + 1
  suite.seconds = seconds
  SUITES.append(suite)


def check_file(suite: Suite, results: Dict[str, str], name: str) -> None:
  """Every test of file `name` passed or is listed; every listed test of it still fails."""
  mine = {k: v for k, v in results.items() if k.startswith(name + '::')}
  assert mine, f'no test of {name} ran; results: {sorted(results)[:5]}'
  listed = suite.listed()
  unexpected = sorted(k for k, v in mine.items()
                      if v == 'failed' and k not in listed and k not in suite.flaky)
  stale = sorted(k for k in listed if k.startswith(name + '::') and mine.get(k) != 'failed')
  assert not unexpected, f'TFM tests failing against official_like: {unexpected}'
  assert not stale, f'listed tests that no longer fail (or no longer exist): {stale}'
