"""The distribution strategy names a config may use, checked without TensorFlow.

`RuntimeConfig.validate` and `distribute_utils` both ask this module, so a
name is refused (or accepted) the same way before and after TensorFlow loads.
"""
from official_like.modeling.hyperparams.errors import suggestion

DEFAULT_NAMES = ('off', 'default')
NAMES = tuple(sorted(DEFAULT_NAMES + ('one_device', 'mirrored',
                                      'multi_worker_mirrored', 'tpu')))
_UNSUPPORTED = {
    'parameter_server': "'parameter_server' is not supported: the Orbit loop "
                        'of official_like does not drive a ClusterCoordinator; '
                        "use 'multi_worker_mirrored' for multi-worker training",
}


def normalize(name) -> str:
  """The lower-cased strategy name; ValueError saying what is allowed otherwise."""
  if not isinstance(name, str):
    hint = (" (YAML reads a bare `off` as false; quote it: 'off')"
            if name is False else '')
    raise ValueError(f'must be a string, got {name!r}{hint}')
  lowered = name.lower()
  if lowered in _UNSUPPORTED:
    raise ValueError(_UNSUPPORTED[lowered])
  if lowered not in NAMES:
    raise ValueError(f'unknown strategy {name!r}; {suggestion(lowered, NAMES, "strategies")}'
                     ' (case-insensitive)')
  return lowered
