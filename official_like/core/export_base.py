"""`ExportModule` and `export`: a trained model as a SavedModel, under TFM's names.

TFM's serving code (`official/vision/serving`, the NLP export modules)
subclasses `ExportModule`, implements `serve` and `get_inference_signatures`,
and hands the module to `export`, which restores a checkpoint into the model
and writes the SavedModel, by default into a new directory named after the
current Unix time.
"""
import abc
import functools
import os
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Union

from absl import logging
import tensorflow as tf
import tf_keras

MAX_DIRECTORY_CREATION_ATTEMPTS = 10


class ExportModule(tf.Module, metaclass=abc.ABCMeta):
  """A model with its serving functions; subclasses say what is served and how.

  `inference_step(inputs)` runs the model: the given function with
  `model=` bound, or the Keras model's `call` (not `__call__`, which carries
  the training-time tracing), or `model(inputs, training=False)`.
  """

  def __init__(self, params: Any, model: Union[tf.Module, tf_keras.Model],
               inference_step: Optional[Callable[..., Any]] = None, *,
               preprocessor: Optional[Callable[..., Any]] = None,
               postprocessor: Optional[Callable[..., Any]] = None):
    super().__init__(name=None)
    self.model = model
    self.params = params
    if inference_step is not None:
      self.inference_step = functools.partial(inference_step, model=model)
    elif isinstance(model, tf_keras.Model):
      self.inference_step = model.call
    else:
      self.inference_step = functools.partial(model.__call__, training=False)
    self.preprocessor = preprocessor
    self.postprocessor = postprocessor

  @abc.abstractmethod
  def serve(self) -> Mapping[str, tf.Tensor]:
    """The inference function; inputs come as keyword arguments, outputs as a dict."""

  @abc.abstractmethod
  def get_inference_signatures(self, function_keys: Dict[str, str]) -> Mapping[str, Any]:
    """{signature name: concrete function} for the functions `function_keys` names."""


def _restore(export_module: ExportModule, checkpoint_path: Optional[str],
             checkpoint: Optional[tf.train.Checkpoint]) -> None:
  path = checkpoint_path
  if path and tf.io.gfile.isdir(path):
    path = tf.train.latest_checkpoint(path)
  if not path:
    return
  checkpoint = checkpoint or tf.train.Checkpoint(model=export_module.model)
  checkpoint.read(path).assert_existing_objects_matched().expect_partial()


def export(export_module: ExportModule,
           function_keys: Union[List[str], Dict[str, str]],
           export_savedmodel_dir: str,
           checkpoint_path: Optional[str] = None,
           timestamped: bool = True,
           save_options: Optional[tf.saved_model.SaveOptions] = None,
           checkpoint: Optional[tf.train.Checkpoint] = None) -> str:
  """Writes `export_module` as a SavedModel and returns its directory.

  Args:
    export_module: the module to save.
    function_keys: {function key: signature name}; a one-element list
      `[key]` serves that function as the default signature.
    export_savedmodel_dir: the SavedModel directory, or with `timestamped`
      its parent.
    checkpoint_path: a checkpoint (or a directory: its latest) restored into
      `export_module.model` first, through `checkpoint` when given.
    timestamped: write into `export_savedmodel_dir/<unix time>`.
    save_options: passed to `tf.saved_model.save`.
    checkpoint: the object graph to restore through.

  Raises:
    ValueError: `function_keys` is a list of more than one key.
  """
  _restore(export_module, checkpoint_path, checkpoint)
  if isinstance(function_keys, list):
    if len(function_keys) != 1:
      raise ValueError('function_keys: a list must hold exactly one key (served as the '
                       f'default signature); got {function_keys}. Pass a dict for several')
    function_keys = {function_keys[0]: tf.saved_model.DEFAULT_SERVING_SIGNATURE_DEF_KEY}
  signatures = export_module.get_inference_signatures(function_keys)
  export_dir = export_savedmodel_dir
  if timestamped:
    export_dir = get_timestamped_export_dir(export_savedmodel_dir).decode('utf-8')
  tf.saved_model.save(export_module, export_dir, signatures=signatures, options=save_options)
  return export_dir


def get_timestamped_export_dir(export_dir_base: str) -> bytes:
  """`export_dir_base/<unix time>` (as bytes, as in TFM) for a directory that does not exist yet.

  Raises:
    RuntimeError: every second tried for MAX_DIRECTORY_CREATION_ATTEMPTS
      seconds was taken.
  """
  for attempt in range(1, MAX_DIRECTORY_CREATION_ATTEMPTS + 1):
    candidate = os.path.join(str(export_dir_base), str(int(time.time())))
    if not tf.io.gfile.exists(candidate):
      return candidate.encode('utf-8')
    logging.warning('Export directory %s exists; waiting a second (attempt %d of %d)',
                    candidate, attempt, MAX_DIRECTORY_CREATION_ATTEMPTS)
    time.sleep(1)
  raise RuntimeError(f'no free timestamped directory under {export_dir_base} after '
                     f'{MAX_DIRECTORY_CREATION_ATTEMPTS} attempts')
