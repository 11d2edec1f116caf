"""Child: time to import the training stack (`ours` or `tfm`)."""
import sys
import time

from _child import report

start = time.perf_counter()
if sys.argv[1] == 'ours':
  import official_like.core.train_lib  # noqa: F401 pylint: disable=unused-import
  import official_like.modeling.optimization  # noqa: F401 pylint: disable=unused-import
else:
  import official.core.train_lib  # noqa: F401 pylint: disable=unused-import
  import official.modeling.optimization  # noqa: F401 pylint: disable=unused-import
report({'seconds': time.perf_counter() - start,
        'modules': len(sys.modules)})
