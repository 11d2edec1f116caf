"""A config whose `type` field selects exactly one of its other fields.

TFM writes "the optimizer is one of sgd, adam, ..." as a dataclass with one
field per choice plus `type`. We keep that shape (so TFM YAML loads) and add
two things: an unknown `type` fails at once with the valid choices, and new
choices can be registered at run time (`register_option`) instead of
subclassing the config.
"""
import dataclasses
from typing import Any, Dict, Optional

from official_like.modeling.hyperparams import untyped
from official_like.modeling.hyperparams.base_config import Config
from official_like.modeling.hyperparams.errors import ConfigError
from official_like.modeling.hyperparams.errors import suggestion
from official_like.modeling.hyperparams.errors import under


@dataclasses.dataclass
class OneOfConfig(Config):
  """`type` names the selected field; `get()` returns it (None when unset).

  A choice is usually a nested config, but may be a plain value (TFM allows
  `single: int = 1`); `get()` and `as_dict()` treat both alike.
  """
  type: Optional[str] = None

  @classmethod
  def options(cls):
    return [name for name in cls.field_types() if name != 'type']

  @classmethod
  def register_option(cls, name: str, config_cls: type) -> None:
    """Adds a new choice `name` whose settings are a `config_cls` instance."""
    if name in cls.field_types():
      raise ConfigError((name,), f'{cls.__name__} already has a choice named {name!r}')
    if not (isinstance(config_cls, type) and issubclass(config_cls, Config)):
      raise ConfigError((name,), f'expected a Config subclass, got {config_cls!r}')
    cls._add_field(name, config_cls, config_cls)

  def _convert(self, name: str, value: Any) -> Any:
    if name == 'type' and value is not None and value not in self.options():
      if not isinstance(value, str):
        raise ConfigError((), f'expected str, got {type(value).__name__} '
                          f'{value!r}')
      raise ConfigError((), f'unknown type {value!r}; '
                        f"{suggestion(value, self.options(), 'types')}")
    return super()._convert(name, value)

  def get(self, key: Optional[str] = None, value: Any = None) -> Any:
    """The selected choice (None when unset); `get(key, value)` is Config.get."""
    if key is not None:
      return super().get(key, value)
    return None if self.type is None else getattr(self, self.type)

  def as_dict(self) -> Dict[str, Any]:
    """Only the selected choice is exported: the others are unused defaults."""
    if self.type is None:
      return {'type': None}
    return {'type': self.type, self.type: untyped.export_value(self.get())}

  def validate(self) -> None:
    chosen = self.get()
    if isinstance(chosen, Config):
      with under(self.type):
        chosen.validate()
    self._check_restrictions()
