"""Model directories for tests that must prove a failed run wrote nothing."""
import os


def populate(model_dir):
  """A model_dir holding an earlier run's files (contents are placeholders)."""
  os.makedirs(os.path.join(model_dir, 'train'))
  for name, text in [('params.yaml', 'trainer: {train_steps: 7}\n'),
                     ('checkpoint', 'model_checkpoint_path: "ckpt-7"\n'),
                     ('ckpt-7.index', 'index'),
                     ('ckpt-7.data-00000-of-00001', 'data'),
                     ('train/events.out.tfevents.1.host.1.0.v2', 'events')]:
    with open(os.path.join(model_dir, name), 'w') as f:
      f.write(text)


def snapshot(directory):
  """{relative path: (bytes, mtime_ns)} of every file under `directory`."""
  out = {}
  for root, _, files in os.walk(directory):
    for name in files:
      path = os.path.join(root, name)
      with open(path, 'rb') as f:
        out[os.path.relpath(path, directory)] = (f.read(), os.stat(path).st_mtime_ns)
  return out
