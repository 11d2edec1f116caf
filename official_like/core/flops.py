"""A model's floating-point operations per example, as TFM's `train_utils.try_count_flops` counts them.

The model is traced at batch size 1, its variables are frozen into
constants, and TensorFlow's (v1) profiler adds up each op's registered
`flops` statistic: a multiply-add counts 2. TensorFlow registers none for
`Einsum`, which attention layers use, so they are added here with the
formula TFM registers. Not registered in TensorFlow's global table: TFM's
`train_utils` registers it at import and would fail if it came second;
when TFM's is there, the profiler already counts them.
"""
from typing import Any, Dict, Optional

from absl import logging
import numpy as np
import tensorflow as tf
from tensorflow.python.framework import convert_to_constants
from tensorflow.python.framework import ops


def _einsum_flops(graph, node_def) -> int:
  """2 x the product of every index's size: each output element sums over the contracted ones."""
  shapes = [tf.compat.v1.graph_util.tensor_shape_from_node_def_name(graph, name)
            for name in node_def.input[:2]]
  for shape in shapes:
    shape.assert_is_fully_defined()
  operands = node_def.attr['equation'].s.decode().replace(' ', '').split('->')[0]
  sizes = {}
  for letters, shape in zip(operands.split(','), shapes):
    sizes.update(zip(letters, shape.as_list()))
  return 2 * int(np.prod(list(sizes.values()), dtype=np.int64))


def _unregistered_einsum_flops(graph) -> int:
  return sum(_einsum_flops(graph, op.node_def) for op in graph.get_operations()
             if op.type == 'Einsum' and
             ops.get_stats_for_node_def(graph, op.node_def, 'flops').value is None)


def try_count_flops(model, inputs_kwargs: Optional[Dict[str, Any]] = None,
                    output_path: Optional[str] = None) -> Optional[int]:
  """Float operations of one forward pass of one example; None when they cannot be counted.

  Functional models are traced from `model.inputs`; subclassed ones need
  `inputs_kwargs` (TensorSpecs for `model.call`). `output_path` receives the
  profiler's per-op report. Uncountable models (unbuilt, dynamic shapes)
  return None with an INFO log, as in TFM: counting never stops a run.
  """
  if not hasattr(model, 'inputs'):
    return None
  try:
    if model.inputs:
      specs = [tf.TensorSpec([1] + x.shape[1:], x.dtype) for x in model.inputs]
      concrete = tf.function(model).get_concrete_function(specs)
    else:
      concrete = tf.function(model.call).get_concrete_function(**(inputs_kwargs or {}))
    frozen, _ = convert_to_constants.convert_variables_to_constants_v2_as_graph(concrete)
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options['output'] = f'file:outfile={output_path}' if output_path else 'none'
    profile = tf.compat.v1.profiler.profile(
        graph=frozen.graph, run_meta=tf.compat.v1.RunMetadata(), options=options)
    return profile.total_float_ops + _unregistered_einsum_flops(frozen.graph)
  except Exception as e:  # pylint: disable=broad-except
    logging.info('FLOPs not counted (%s: %s); a model must be built, with static '
                 'input shapes, to be counted.', type(e).__name__, e)
    return None
