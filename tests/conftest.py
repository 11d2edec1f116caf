"""Shared test set-up: one TensorFlow import per pytest process.

Two logical CPU devices are configured before TensorFlow initialises its
runtime, so MirroredStrategy tests can run on this CPU-only machine. Any test
that needs TensorFlow imports it normally; the configuration below happens
first because pytest imports conftest before collecting test modules.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)
