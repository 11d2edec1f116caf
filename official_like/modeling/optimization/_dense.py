"""Sparse gradients as dense ones, for optimizers whose update touches every coordinate.

Adafactor's factored moments and the elementwise rules of Lion, Nadam and
Adan move every coordinate's state each step; updating only the rows of an
`IndexedSlices` gradient would make them different optimizers. So their
sparse path scatters the rows into a zero tensor and takes the dense one.
"""
import tensorflow as tf


def dense_gradient(grad, var, indices):
  """`grad`'s rows at `indices`, scattered into zeros of `var`'s shape (repeats summed)."""
  return tf.scatter_nd(tf.expand_dims(indices, -1), grad,
                       tf.shape(var, out_type=indices.dtype))
