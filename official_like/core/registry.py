"""TFM's `official.core.registry`: `register` and `lookup` on hierarchical keys.

The one implementation is `modeling/hyperparams/registry.py`, low enough for
the optimizer tables to share it; this module keeps the path TFM code imports.
"""
from official_like.modeling.hyperparams.registry import lookup  # pylint: disable=unused-import
from official_like.modeling.hyperparams.registry import register  # pylint: disable=unused-import
from official_like.modeling.hyperparams.registry import Registry  # pylint: disable=unused-import
from official_like.modeling.hyperparams.registry import RegistryError  # pylint: disable=unused-import
