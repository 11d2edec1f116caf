"""Registered experiments on bundled data; importing this package registers them.

Only the configs are imported here (no TensorFlow); each Task module is
imported when a run asks for its Task (see `TASK_MODULE`).
"""
from experiments import diabetes_config  # pylint: disable=unused-import
from experiments import digits_config  # pylint: disable=unused-import
