"""Typed configs: `Config`, `OneOfConfig`, and the one override parser."""
from official_like.modeling.hyperparams.base_config import Config
from official_like.modeling.hyperparams.errors import ConfigError
from official_like.modeling.hyperparams.errors import ConfigTypeError
from official_like.modeling.hyperparams.errors import LockedConfigError
from official_like.modeling.hyperparams.errors import UnknownKeyError
from official_like.modeling.hyperparams.oneof import OneOfConfig
from official_like.modeling.hyperparams.params_parser import parse as parse_override
