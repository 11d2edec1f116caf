"""Typed configs: `Config`, `OneOfConfig`, and the one override parser.

The names TFM's `official.modeling.hyperparams` exports are here too
(`bind`, `ParamsDict`, `override_params_dict`, ...), so code written against
TFM finds them.
"""
from official_like.modeling.hyperparams.base_config import bind
from official_like.modeling.hyperparams.base_config import Config
from official_like.modeling.hyperparams.errors import ConfigError
from official_like.modeling.hyperparams.errors import ConfigTypeError
from official_like.modeling.hyperparams.errors import LockedConfigError
from official_like.modeling.hyperparams.errors import RestrictionError
from official_like.modeling.hyperparams.errors import UnknownKeyError
from official_like.modeling.hyperparams.oneof import OneOfConfig
from official_like.modeling.hyperparams.params_dict import override_params_dict
from official_like.modeling.hyperparams.params_dict import ParamsDict
from official_like.modeling.hyperparams.params_dict import read_yaml_to_params_dict
from official_like.modeling.hyperparams.params_dict import save_params_dict_to_yaml
from official_like.modeling.hyperparams.params_parser import parse as parse_override
