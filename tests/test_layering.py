"""Layers import only downwards, BUILD covers every source, and `official` stays out.

Bazel cannot run on this machine (its rules come from the network), so the
BUILD file is checked statically: it is parsed as the Python-syntax
Starlark it is, and its globs and deps are compared with the tree and the
real imports.
"""
import ast
import fnmatch
import glob
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Layer -> the layers (and itself) it may import from official_like/experiments.
LAYERS = {
    'official_like.modeling.hyperparams': {'official_like.modeling.hyperparams'},
    'official_like.modeling.optimization': {'official_like.modeling.hyperparams',
                                            'official_like.modeling.optimization'},
    'official_like.common': {'official_like.common'},
    'official_like.core': {'official_like.modeling.hyperparams',
                           'official_like.modeling.optimization',
                           'official_like.common', 'official_like.core'},
    'experiments': {'official_like', 'experiments'},
    'trainer_main': {'official_like', 'experiments'},
}
BUILD_TARGET_OF_LAYER = {
    'official_like.modeling.hyperparams': 'hyperparams',
    'official_like.modeling.optimization': 'optimization',
    'official_like.common': 'common',
    'official_like.core': 'core',
    'experiments': 'experiments',
    'trainer_main': 'trainer_main',
}


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
      if own and not any(name == a or name.startswith(a + '.') for a in LAYERS[layer]):
        violations.append(f'{path} ({layer}) imports {name}')
  assert not violations, '\n'.join(violations)


def _build_targets():
  with open(os.path.join(ROOT, 'BUILD'), encoding='utf-8') as f:
    tree = ast.parse(f.read())
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
  assert {'hyperparams'} <= closure('optimization')
  assert {'optimization', 'common'} <= closure('core')
  assert {'core'} <= closure('experiments') and {'experiments'} <= closure('trainer_main')


def test_nothing_imports_tfm_at_run_time():
  code = ('import sys, experiments, trainer_main\n'
          'from official_like.core import train_lib\n'
          'from official_like.modeling import optimization\n'
          'bad = [m for m in sys.modules if m == "official" or m.startswith("official.")]\n'
          'assert not bad, bad\n')
  subprocess.run([sys.executable, '-c', code], cwd=ROOT, check=True, timeout=120)
