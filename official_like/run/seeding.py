"""`runtime.seed`: seeded model init, dropout and shuffling, and their saved state.

TF-Keras's default random layers (Dropout, RandomFlip, ...) draw from
stateful random ops whose position lives inside the op kernels: no
checkpoint reaches it, so a resumed run would replay the first masks again.
A seeded run therefore builds its model with TF-Keras's `tf.random.Generator`
backend: each random layer then owns a generator whose state is a variable,
and `random_generators` hands those to the trainer's resume checkpoint.

With op determinism on (TF_DETERMINISTIC_OPS=1 or
`tf.config.experimental.enable_op_determinism()`), a training run must set
`runtime.seed`: unseeded random ops fail at the first step deep inside
TensorFlow, and a seed picked silently would hide that runs are not
independent draws.
"""
import contextlib
from typing import Any, List, Optional

import tensorflow as tf
from tensorflow.python.framework import config as tf_config  # TF exports no getter.
import tf_keras

from official_like.modeling.hyperparams import ConfigError


def determinism_enabled() -> bool:
  return tf_config.is_op_determinism_enabled()


def check_seed_for_determinism(runtime: Any) -> None:
  """Raises ConfigError('runtime.seed: ...') when determinism is on and no seed is set."""
  if getattr(runtime, 'seed', None) is None and determinism_enabled():
    raise ConfigError(
        ('runtime', 'seed'),
        'must be set when op determinism is on (TF_DETERMINISTIC_OPS=1 or '
        'tf.config.experimental.enable_op_determinism()): model init, dropout '
        'and shuffling need a seed, e.g. --params_override=runtime.seed=1')


@contextlib.contextmanager
def seeded(seed: Optional[int]):
  """Seeds Python, NumPy and TensorFlow; models built inside use generator-backed RNG.

  The TF-Keras switch is process-wide and read when a random layer is
  constructed, so it is put back afterwards: unseeded models built later
  keep TF-Keras's default.
  """
  if seed is None:
    yield
    return
  tf_keras.utils.set_random_seed(seed)
  experimental = tf_keras.backend.experimental
  was_enabled = experimental.is_tf_random_generator_enabled()
  experimental.enable_tf_random_generator()
  try:
    yield
  finally:
    if not was_enabled:
      experimental.disable_tf_random_generator()


def random_generators(model: Any) -> List[tf.random.Generator]:
  """The generators of the model's random layers, in layer order.

  TF-Keras keeps them out of the model's own checkpoint on purpose (for
  compatibility with older checkpoints), hence the private attributes. A
  layer is initialised here if it was not built yet, so its generator exists
  before the checkpoint is restored. Layers on the legacy stateful ops (models
  built without a seed) have no generator and are skipped.
  """
  flatten = getattr(model, '_flatten_layers', None)
  if flatten is None:
    return []
  found = []
  for layer in flatten():
    rng = getattr(layer, '_random_generator', None)
    if rng is None or not hasattr(rng, '_maybe_init'):
      continue
    rng._maybe_init()  # pylint: disable=protected-access
    generator = getattr(rng, '_generator', None)
    if isinstance(generator, tf.random.Generator):
      found.append(generator)
  return found


def with_data_seed(data: Any, seed: Optional[int]) -> Any:
  """`data` with `seed` filled in when the run has a seed and the data config none."""
  if seed is None or data is None or getattr(data, 'seed', 0) is not None:
    return data
  return data.replace(seed=seed)
