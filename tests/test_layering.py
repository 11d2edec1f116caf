"""Layers import only downwards, BUILD covers every source, and `official` stays out.

`make bazel-test` enforces the layers at run time (a target sees only the
sources it depends on); these checks run without Bazel. The BUILD files are
parsed as the Python-syntax Starlark they are, and their globs and deps are
compared with the tree and the real imports.
"""
import ast
import fnmatch
import glob
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The layers, lowest first (README.md, layout table).
ORDER = ['official_like.modeling.hyperparams', 'official_like.modeling.optimization',
         'official_like.common', 'official_like.run', 'official_like.core',
         'official_like.lr_tools', 'experiments', 'trainer_main']
# Layer -> the layers (and itself) it may import from official_like/experiments.
LAYERS = {layer: set(ORDER[:i + 1]) for i, layer in enumerate(ORDER)}
BUILD_TARGET_OF_LAYER = {layer: layer.split('.')[-1] for layer in ORDER}


def _sources():
  files = glob.glob('official_like/**/*.py', root_dir=ROOT, recursive=True)
  files += glob.glob('experiments/*.py', root_dir=ROOT) + ['trainer_main.py']
  return sorted(files)


def _module(path):
  return path[:-3].replace('/', '.').removesuffix('.__init__')


def _layer(module):
  if module in ('official_like', 'official_like.modeling'):
    return 'official_like.modeling.hyperparams'  # empty package markers, bottom layer
  return max((l for l in LAYERS if module == l or module.startswith(l + '.')), key=len,
             default=None)


def _imports(path):
  with open(os.path.join(ROOT, path), encoding='utf-8') as f:
    tree = ast.parse(f.read())
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      yield from (a.name for a in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
      yield node.module


def test_layers_import_only_downwards():
  violations = []
  for path in _sources():
    layer = _layer(_module(path))
    assert layer, f'{path} belongs to no layer'
    for name in _imports(path):
      if name == 'official' or name.startswith('official.'):
        violations.append(f'{path} imports TFM: {name}')
      own = name.split('.')[0] in ('official_like', 'experiments', 'trainer_main')
      if own and _layer(name) not in LAYERS[layer]:
        violations.append(f'{path} ({layer}) imports {name}')
  assert not violations, '\n'.join(violations)


def _parse_build(path):
  with open(os.path.join(ROOT, path), encoding='utf-8') as f:
    return ast.parse(f.read())


def _build_targets():
  tree = _parse_build('BUILD')
  targets = {}
  for call in ast.walk(tree):
    if isinstance(call, ast.Call) and getattr(call.func, 'id', '') in (
        'py_library', 'py_binary'):
      kw = {k.arg: k.value for k in call.keywords}
      name = ast.literal_eval(kw['name'])
      patterns, excludes = [], []
      for node in ast.walk(kw['srcs']):
        if isinstance(node, ast.Call) and node.func.id == 'glob':
          patterns += ast.literal_eval(node.args[0])
          for k in node.keywords:
            excludes += ast.literal_eval(k.value) if k.arg == 'exclude' else []
        elif isinstance(node, ast.List) and all(isinstance(e, ast.Constant) for e in node.elts):
          patterns += ast.literal_eval(node)
      deps = [e.value[1:] for e in getattr(kw.get('deps'), 'elts', [])
              if isinstance(e, ast.Constant) and e.value.startswith(':')]
      targets[name] = (patterns, excludes, deps)
  return targets


def _matches(path, patterns, excludes):
  def match(p):
    return fnmatch.fnmatch(path, p) or fnmatch.fnmatch(path, p.replace('**/', ''))
  return any(match(p) for p in patterns) and not any(match(p) for p in excludes)


def test_build_covers_every_source_and_mirrors_layers():
  targets = _build_targets()
  for path in _sources():
    owners = [n for n, (p, e, _) in targets.items() if _matches(path, p, e)]
    assert owners, f'{path} is in no BUILD target'
  deps_closure = {}

  def closure(name):
    if name not in deps_closure:
      deps_closure[name] = {name}.union(*(closure(d) for d in targets[name][2]))
    return deps_closure[name]

  for layer, allowed in LAYERS.items():
    target = BUILD_TARGET_OF_LAYER[layer]
    reach = closure(target)
    for other_layer, other_target in BUILD_TARGET_OF_LAYER.items():
      if other_target in reach and other_target != target:
        assert any(other_layer == a or other_layer.startswith(a + '.') for a in allowed), (
            f'BUILD: {target} depends on {other_target}, a higher layer')
  targets_in_order = [BUILD_TARGET_OF_LAYER[layer] for layer in ORDER]
  for lower, upper in zip(targets_in_order, targets_in_order[1:]):
    assert lower in closure(upper), f'BUILD: {upper} does not depend on {lower}'


def _assignments(tree):
  return {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body
          if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)}


def test_every_layer_has_a_bazel_import_test():
  """tests/BUILD imports each layer's modules with only that layer's target as dep."""
  layer_dirs = _assignments(_parse_build('tests/BUILD'))['LAYER_DIRS']
  targets = _build_targets()
  binaries = {'trainer_main.py', 'experiments/write_tfrecords.py'}
  package_markers = {'official_like/__init__.py', 'official_like/modeling/__init__.py'}
  assert set(layer_dirs) == {BUILD_TARGET_OF_LAYER[l] for l in LAYERS} - {'trainer_main'}
  for target, dirs in layer_dirs.items():
    patterns, excludes, _ = targets[target]
    for path in set(_sources()) - binaries:
      in_dirs = any(path.startswith(d + '/') for d in dirs)
      in_target = _matches(path, patterns, excludes)
      assert in_dirs or not in_target or path in package_markers, (
          f'{path} is in //:{target} but {target}_imports_test does not import it')
      assert in_target or not in_dirs, f'{path} is not in //:{target}'


def test_every_test_file_is_a_bazel_test():
  tree = _parse_build('tests/BUILD')
  loops = [ast.unparse(node.generators[0].iter) for node in ast.walk(tree)
           if isinstance(node, ast.ListComp) and getattr(node.elt.func, 'id', '') == 'py_test']
  assert "glob(['test_*.py'])" in loops, 'tests/BUILD: a py_test per glob(["test_*.py"])'
  tests = {os.path.basename(p) for p in glob.glob('tests/test_*.py', root_dir=ROOT)}
  overrides = _assignments(tree)
  for name in ('SIZES', 'TAGS'):
    stale = set(overrides[name]) - tests
    assert not stale, f'tests/BUILD {name} names missing files: {sorted(stale)}'
  assert set(overrides['SIZES'].values()) <= {'small', 'medium', 'large', 'enormous'}


def test_nothing_imports_tfm_at_run_time():
  code = ('import sys, experiments, trainer_main\n'
          'from official_like.core import train_lib\n'
          'from official_like.modeling import optimization\n'
          'bad = [m for m in sys.modules if m == "official" or m.startswith("official.")]\n'
          'assert not bad, bad\n')
  subprocess.run([sys.executable, '-c', code], cwd=ROOT, check=True, timeout=120)
