"""Entry point of the Bazel py_test targets in tests/BUILD.

`bazel_pytest_main.py TEST_FILE` runs pytest on the test file.

`bazel_pytest_main.py --import-all DIR...` imports every module under each
DIR (relative to the workspace root in the runfiles). The layer import tests
use it: their runfiles hold only one layer and the layers it depends on, so a
module importing a layer its target does not depend on fails here.
"""
import importlib
import os
import sys

_OWN_PACKAGES = ('official_like', 'experiments', 'trainer_main')


def _import_all(dirs):
  root = os.path.join(os.environ['TEST_SRCDIR'], os.environ['TEST_WORKSPACE'])
  modules = []
  for d in dirs:
    for dirpath, _, files in os.walk(os.path.join(root, d)):
      rel_dir = os.path.relpath(dirpath, root)
      modules += [os.path.join(rel_dir, f)[:-3].replace(os.sep, '.').removesuffix('.__init__')
                  for f in files if f.endswith('.py')]
  if not modules:
    print(f'no modules under {dirs} in {root}', file=sys.stderr)
    return 1
  for name in sorted(modules):
    try:
      importlib.import_module(name)
    except ModuleNotFoundError as e:
      if e.name and e.name.split('.')[0] in _OWN_PACKAGES:
        print(f'{name} imports {e.name}, which is not in the deps of its Bazel target '
              '(BUILD); an upward import between layers?', file=sys.stderr)
      raise
    print('imported', name)
  return 0


def main(argv):
  if argv[:1] == ['--import-all']:
    return _import_all(argv[1:])
  import pytest  # pylint: disable=g-import-not-at-top
  args = ['-q', '-p', 'no:cacheprovider']
  if os.environ.get('XML_OUTPUT_FILE'):
    args.append('--junitxml=' + os.environ['XML_OUTPUT_FILE'])
  return pytest.main([*args, *argv])


if __name__ == '__main__':
  sys.exit(main(sys.argv[1:]))
