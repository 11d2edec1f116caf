"""`tfm_redirect.install()`: TFM's core names resolve to official_like, the rest of TFM to TFM.

Each case runs in a fresh interpreter: the redirect is process-wide, and the
point is what a process that installed it (or failed to) can import.
"""
import subprocess
import sys
import textwrap

import pytest

from official_like.common import tfm_redirect


def _run(code):
  proc = subprocess.run([sys.executable, '-c', textwrap.dedent(code)], capture_output=True,
                        text=True, timeout=120, check=False)
  return proc.returncode, proc.stdout.strip().splitlines(), proc.stderr


@pytest.mark.parametrize('tfm, ours', [
    ('official.core', 'official_like.core'),
    ('official.core.base_task', 'official_like.core.base_task'),
    ('official.modeling.hyperparams.base_config', 'official_like.modeling.hyperparams.base_config'),
    ('official.common.flags', 'official_like.common.flags'),
    ('official.common.registry_imports', None),
    ('official.vision.ops.preprocess_ops', None),
    ('official.corex', None),
])
def test_redirected_names(tfm, ours):
  assert tfm_redirect.redirected(tfm) == ours


def test_core_names_are_our_modules_and_the_zoo_stays_tfm():
  code, out, err = _run('''
      from official_like.common import tfm_redirect
      tfm_redirect.install()
      tfm_redirect.install()
      import official.core.registry
      import official_like.core.registry
      from official.modeling import hyperparams
      import official_like.modeling.hyperparams
      import official.common.flags
      import official.utils.hyperparams_flags as tfm_util
      print(official.core.registry is official_like.core.registry)
      print(hyperparams is official_like.modeling.hyperparams)
      print(official_like.core.registry.__spec__.name)
      print(official.common.flags.__name__)
      print(tfm_util.__name__, tfm_util.__file__.endswith('official/utils/hyperparams_flags.py'))
      ''')
  assert code == 0, err
  assert out == ['True', 'True', 'official_like.core.registry', 'official_like.common.flags',
                 'official.utils.hyperparams_flags True']


def test_a_core_module_we_lack_is_an_import_error_not_tfms_copy():
  code, out, err = _run('''
      from official_like.common import tfm_redirect
      tfm_redirect.install()
      try:
        import official.core.no_such_module
      except ImportError as e:
        print(e)
      ''')
  assert code == 0, err
  assert out == ['official.core.no_such_module is not in official_like (looked for '
                 'official_like.core.no_such_module); TFM code that needs it cannot run on '
                 'official_like']


def test_installing_after_tfms_core_was_imported_is_refused():
  code, out, err = _run('''
      import official.modeling.hyperparams.oneof
      from official_like.common import tfm_redirect
      try:
        tfm_redirect.install()
      except ImportError as e:
        print(e)
      print(tfm_redirect.installed())
      ''')
  assert code == 0, err
  assert out[0].startswith("TFM's own official.modeling.hyperparams, "
                           'official.modeling.hyperparams.base_config')
  assert out[0].endswith('install the official_like redirect before anything imports official.*')
  assert out[1] == 'False'
