"""What a training pipeline's checkpointed state would be, found before training.

Saving a `tf.data` iterator fails at the first checkpoint
(`FailedPreconditionError: RandomUniform is stateful`) when the pipeline
draws from stateful random ops - `tf.image.random_flip_left_right`, TFM's
`preprocess_ops.random_crop_image`, `tf.random.uniform` - and it writes
every shuffle buffer into every checkpoint (336 MB for `shuffle(1000)` of
224x224x3 images). Both are known from the pipeline's graph without reading
data: the stateful ops are read from the traced functions, and the
shuffles' buffers are sized from their element specs.
"""
from typing import List, Optional

import tensorflow as tf
from tensorflow.python.framework import op_def_registry  # No public op registry.

# Above this, the iterator is not saved: a resume then restarts the input, as TFM's.
STATE_LIMIT_BYTES = 64 * 2**20

# Seed generators of shuffles inside tf.data functions.
SEED_GENERATORS = ('DummySeedGenerator', 'AnonymousSeedGenerator',
                   'AnonymousRandomSeedGenerator')
_HINTS = {
    'SampleDistortedBoundingBox': 'tf.image.stateless_sample_distorted_bounding_box',
    'SampleDistortedBoundingBoxV2': 'tf.image.stateless_sample_distorted_bounding_box',
    'RandomShuffle': 'tf.random.experimental.stateless_shuffle',
    **{op: 'Dataset.shuffle outside flat_map/interleave functions'
       for op in SEED_GENERATORS},
}
_DEFAULT_HINT = 'tf.image.stateless_random_* / tf.random.stateless_* ops with a seed'
_SAVEABLE = ('Assert', 'Print', 'PrintV2', 'NoOp')  # Stateful, but no state to lose.


def random_ops(dataset: tf.data.Dataset) -> List[str]:
  """The stateful ops in the pipeline's functions that are not datasets (sorted names).

  A shuffle inside a function (a flat_map's, as `input_position.epochs`
  makes) brings a seed generator, which an iterator checkpoint refuses.

  Read from the traced functions (maps, flat_maps, ... and the functions
  they call), not from the serialized dataset, which would copy in-memory
  arrays into the graph.
  """
  found = set()
  for node in _upstream(dataset):
    for graph in _function_graphs(node):
      nodes = list(graph.node) + [n for f in graph.library.function for n in f.node_def]
      found.update(n.op for n in nodes if _is_random_state(n.op))
  return sorted(found)


def _function_graphs(node: tf.data.Dataset):
  for value in vars(node).values():
    function = getattr(value, 'function', None)
    if function is not None and hasattr(function, 'graph'):
      yield function.graph.as_graph_def()


def _is_random_state(op_name: str) -> bool:
  op = op_def_registry.get(op_name)
  return (op is not None and op.is_stateful and not op_name.startswith('_')
          and 'Dataset' not in op_name and op_name not in _SAVEABLE)


def unsaveable_ops(dataset: tf.data.Dataset) -> List[str]:
  """[] when a checkpoint can save the iterator; else the stateful ops to blame."""
  ops = random_ops(dataset)
  if not ops:
    return []
  policy = tf.data.experimental.ExternalStatePolicy.FAIL
  try:
    dataset._as_serialized_graph(external_state_policy=policy)  # pylint: disable=protected-access
    return []  # tf.data saves these itself.
  except tf.errors.OpError:  # FailedPrecondition: 'RandomUniform is stateful'.
    return ops


def hint(ops: List[str]) -> str:
  """What to use instead of `ops`, e.g. 'tf.image.stateless_sample_distorted_bounding_box'."""
  return ', '.join(sorted({_HINTS.get(op, _DEFAULT_HINT) for op in ops}))


def shuffle_state_bytes(dataset: tf.data.Dataset) -> int:
  """Bytes the pipeline's shuffle buffers hold once full, from their element specs.

  A lower bound: unknown dimensions count as 1 and strings as 0 bytes.
  """
  total = 0
  for node in _upstream(dataset):
    buffer = getattr(node, '_buffer_size', None)
    if type(node).__name__ == '_ShuffleDataset' and buffer is not None:
      size = tf.get_static_value(buffer)
      if size is not None and size > 0:
        total += int(size) * _element_bytes(node.element_spec)
  return total


def _upstream(dataset: tf.data.Dataset):
  seen, stack = set(), [dataset]
  while stack:
    node = stack.pop()
    if id(node) not in seen:
      seen.add(id(node))
      yield node
      stack.extend(node._inputs())  # pylint: disable=protected-access


def _element_bytes(spec) -> int:
  total = 0
  for leaf in tf.nest.flatten(spec):
    shape, dtype = getattr(leaf, 'shape', None), getattr(leaf, 'dtype', None)
    if shape is None or dtype is None or dtype == tf.string or shape.rank is None:
      continue
    elements = 1
    for dim in shape:
      elements *= dim or 1
    total += elements * dtype.size
  return total


def too_big(dataset: tf.data.Dataset) -> Optional[int]:
  """The shuffle buffers' bytes when above `STATE_LIMIT_BYTES`, else None."""
  size = shuffle_state_bytes(dataset)
  return size if size > STATE_LIMIT_BYTES else None
