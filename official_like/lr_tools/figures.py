"""The one look of the learning-rate tools' PNGs (`lr_preview`, `lr_find`).

Both draw on the same canvas and finish it the same way, so a preview and a
range test of one run sit side by side without surprises. matplotlib is
imported only here and only when a figure is drawn: training never pays for
it, and a machine without a display needs no setting (Agg backend).
"""
import contextlib


def batch_of(params) -> str:
  """The training batch for a title: `task.train_data.global_batch_size`, '?' when none."""
  data = getattr(params.task, 'train_data', None)
  return str(getattr(data, 'global_batch_size', '?'))


@contextlib.contextmanager
def figure(path: str):
  """Yields the axes to draw on; on leaving, adds grid and legend and saves to `path`."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
  fig, ax = plt.subplots(figsize=(9, 4.8), dpi=110)
  try:
    yield ax
    ax.grid(alpha=0.3)
    ax.legend(loc='best', fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
  finally:
    plt.close(fig)
