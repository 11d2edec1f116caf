"""Registered experiments on bundled data; importing this package registers them."""
from experiments import diabetes  # pylint: disable=unused-import
from experiments import digits  # pylint: disable=unused-import
