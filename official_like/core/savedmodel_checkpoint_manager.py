"""A CheckpointManager that also writes a SavedModel of chosen modules with each checkpoint.

For every checkpoint `ckpt-N` it saves each module of `modules_to_export`
that has `saved_model_signatures` to `ckpt-N_saved_modules/<name>`, and keeps
exactly the SavedModels whose checkpoints the manager keeps. A SavedModel is
written under a `_temp` name and renamed when complete, so a reader (see
`savedmodels_iterator`) never sees half of one. Names and behaviour are TFM's.
"""
import os
import re
import time
from typing import Callable, Iterator, List, Mapping, Optional

from absl import logging
import tensorflow as tf

SAVED_MODULES_PATH_SUFFIX = 'saved_modules'


def make_saved_modules_directory_name(checkpoint_name: str) -> str:
  """The SavedModel directory that goes with checkpoint `checkpoint_name`."""
  return f'{checkpoint_name}_{SAVED_MODULES_PATH_SUFFIX}'


class SavedModelCheckpointManager(tf.train.CheckpointManager):
  """`tf.train.CheckpointManager` plus SavedModels (arguments as the base, and `modules_to_export`)."""

  def __init__(self, checkpoint: tf.train.Checkpoint, directory: str, max_to_keep: int,
               modules_to_export: Optional[Mapping[str, tf.Module]] = None,
               keep_checkpoint_every_n_hours: Optional[int] = None,
               checkpoint_name: str = 'ckpt', step_counter: Optional[tf.Variable] = None,
               checkpoint_interval: Optional[int] = None,
               init_fn: Optional[Callable[[], None]] = None):
    super().__init__(checkpoint=checkpoint, directory=directory, max_to_keep=max_to_keep,
                     keep_checkpoint_every_n_hours=keep_checkpoint_every_n_hours,
                     checkpoint_name=checkpoint_name, step_counter=step_counter,
                     checkpoint_interval=checkpoint_interval, init_fn=init_fn)
    self._modules_to_export = modules_to_export
    self._savedmodels = self.get_existing_savedmodels()

  def save(self, checkpoint_number: Optional[int] = None, check_interval: bool = True,
           options: Optional[tf.train.CheckpointOptions] = None) -> Optional[str]:
    """Saves a checkpoint (see the base class), then its SavedModels; returns the checkpoint path."""
    path = super().save(checkpoint_number=checkpoint_number, check_interval=check_interval,
                        options=options)
    if not path:
      return None
    if not self._modules_to_export:
      logging.info('No modules_to_export: checkpoint %s has no SavedModel', path)
      return path
    self._export(make_saved_modules_directory_name(path))
    self._keep_only_kept_checkpoints()
    return path

  def _export(self, directory: str) -> None:
    temp = directory + '_temp'
    for name, module in self._modules_to_export.items():
      signatures = getattr(module, 'saved_model_signatures', None)
      if signatures is not None:
        tf.saved_model.save(module, os.path.join(temp, name), signatures=signatures)
    if tf.io.gfile.exists(temp):
      tf.io.gfile.rename(temp, directory)

  def _keep_only_kept_checkpoints(self) -> None:
    existing = set(self.get_existing_savedmodels())
    kept = [make_saved_modules_directory_name(ckpt) for ckpt in self.checkpoints]
    self._savedmodels = [path for path in kept if path in existing]
    for path in existing - set(self._savedmodels):
      tf.io.gfile.rmtree(path)

  def get_existing_savedmodels(self) -> List[str]:
    """Every complete SavedModel directory of this manager's checkpoints, in no set order."""
    pattern = make_saved_modules_directory_name(self._checkpoint_prefix + '-*')
    return [path for path in tf.io.gfile.glob(pattern)
            if path.endswith(SAVED_MODULES_PATH_SUFFIX)]

  @property
  def latest_savedmodel(self) -> Optional[str]:
    return self._savedmodels[-1] if self._savedmodels else None

  @property
  def savedmodels(self) -> List[str]:
    """The kept SavedModels, oldest first."""
    return self._savedmodels

  @property
  def modules_to_export(self) -> Optional[Mapping[str, tf.Module]]:
    return self._modules_to_export

  def get_savedmodel_number_from_path(self, savedmodel_path: str) -> Optional[int]:
    """N of `.../ckpt-N_saved_modules` (the global step under Orbit), else None."""
    match = re.search(rf'(\d+)_{SAVED_MODULES_PATH_SUFFIX}$', savedmodel_path)
    return int(match.group(1)) if match else None

  def savedmodels_iterator(self, min_interval_secs: float = 0,
                           timeout: Optional[float] = None,
                           timeout_fn: Optional[Callable[[], bool]] = None) -> Iterator[str]:
    """Yields each new SavedModel as it appears, like `tf.train.checkpoints_iterator`.

    After `timeout` seconds without a new one it stops, unless `timeout_fn`
    is given and returns False (more may come).
    """
    last = None
    while True:
      found = self.wait_for_new_savedmodel(last, timeout=timeout)
      if found is None:
        if timeout_fn is None:
          logging.info('No new SavedModel within %s seconds', timeout)
          return
        if timeout_fn():
          return
        continue
      started, last = time.time(), found
      yield found
      time.sleep(max(0.0, started + min_interval_secs - time.time()))

  def wait_for_new_savedmodel(self, last_savedmodel: Optional[str] = None,
                              seconds_to_sleep: float = 1.0,
                              timeout: Optional[float] = None) -> Optional[str]:
    """The oldest SavedModel numbered above `last_savedmodel`; None after `timeout` seconds."""
    logging.info('Waiting for a new SavedModel in %s', self._directory)
    deadline = None if timeout is None else time.time() + timeout
    last = self.get_savedmodel_number_from_path(last_savedmodel) if last_savedmodel else -1
    while deadline is None or time.time() + seconds_to_sleep <= deadline:
      newer = {}
      for path in self.get_existing_savedmodels():
        number = self.get_savedmodel_number_from_path(path)
        if number is not None and number > last:
          newer[number] = path
      if newer:
        logging.info('Found a new SavedModel: %s', newer[min(newer)])
        return newer[min(newer)]
      time.sleep(seconds_to_sleep)
    return None
