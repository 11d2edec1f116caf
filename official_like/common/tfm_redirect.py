"""Runs TFM's own code (its model zoo, its train.py) on official_like's core, unedited.

TFM's vision and NLP packages import the core by TFM's names
(`official.core.base_task`, `official.modeling.hyperparams`, ...). After
`install()`, an import finder placed ahead of the normal path answers exactly
those names with official_like's modules: the zoo subclasses our Task,
registers into our registries and builds our configs, while every other
`official.*` module (vision, nlp, ops, layers) still loads from TFM. Nothing
is copied and no file is rewritten, so the zoo a user has installed is the zoo
that runs.

The redirect is all-or-nothing per name: a core module official_like does not
have is an ImportError that says so, never a silent fall-back to TFM's copy
(half of TFM's core beside half of ours would mix two config and registry
worlds).
"""
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from typing import Optional

# TFM module name -> the official_like module that stands in for it (and for its submodules).
REDIRECTS = {
    'official.core': 'official_like.core',
    'official.modeling.hyperparams': 'official_like.modeling.hyperparams',
    'official.modeling.optimization': 'official_like.modeling.optimization',
    'official.common.distribute_utils': 'official_like.common.distribute_utils',
    'official.common.flags': 'official_like.common.flags',
}


def redirected(name: str) -> Optional[str]:
  """The official_like module standing in for TFM module `name`, or None."""
  for tfm, ours in REDIRECTS.items():
    if name == tfm or name.startswith(tfm + '.'):
      return ours + name[len(tfm):]
  return None


class _Redirect(importlib.abc.MetaPathFinder, importlib.abc.Loader):
  """Finder and loader in one: the 'module' it loads is official_like's, already imported."""

  def find_spec(self, fullname, path=None, target=None):
    del path, target
    ours = redirected(fullname)
    if ours is None:
      return None
    if importlib.util.find_spec(ours) is None:
      raise ModuleNotFoundError(
          f"{fullname} is not in official_like (looked for {ours}); TFM code that needs it "
          'cannot run on official_like', name=fullname)
    return importlib.machinery.ModuleSpec(fullname, self, origin=ours)

  def create_module(self, spec):
    module = importlib.import_module(spec.origin)
    spec.loader_state = module.__spec__
    return module

  def exec_module(self, module):
    # The import system stamped the TFM name's spec on our module; give it its own back.
    module.__spec__ = module.__spec__.loader_state


def installed() -> bool:
  return any(isinstance(finder, _Redirect) for finder in sys.meta_path)


def install() -> None:
  """Points TFM's core names at official_like for the rest of this process (idempotent).

  Raises:
    ImportError: TFM's own copy of a redirected module was imported already;
      the zoo would then mix it with ours. Install before importing `official.*`.
  """
  if installed():
    return
  loaded = sorted(name for name, module in list(sys.modules.items())
                  if redirected(name) and module is not None
                  and not module.__name__.startswith('official_like'))
  if loaded:
    raise ImportError(f"TFM's own {', '.join(loaded[:3])} already imported: install the "
                      'official_like redirect before anything imports official.*')
  sys.meta_path.insert(0, _Redirect())
