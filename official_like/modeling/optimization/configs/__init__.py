"""Config dataclasses of the optimization package, as in TFM; no TensorFlow needed."""
from official_like.modeling.optimization.configs.learning_rate_config import *  # pylint: disable=wildcard-import
from official_like.modeling.optimization.configs.learning_rate_modern_config import *  # pylint: disable=wildcard-import
from official_like.modeling.optimization.configs.optimization_config import *  # pylint: disable=wildcard-import
from official_like.modeling.optimization.configs.optimizer_config import *  # pylint: disable=wildcard-import
from official_like.modeling.optimization.configs.optimizer_modern_config import *  # pylint: disable=wildcard-import
