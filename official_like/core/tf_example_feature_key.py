"""Feature-key dataclasses for tf.train.Example: the key names of a feature type in one place.

A subclass lists keys as string fields (`encoded: str = 'image/encoded'`);
`SomeKey('left')` gives the same keys under a prefix (`left/image/encoded`),
so one Example can hold several images. Subclasses are declared with this
module's `dataclass` (no generated `__init__`: the base class's takes the
prefix), as TFM's `official/vision/data/tf_example_feature_key.py` does.
Only key classes live in this module (TFM's test checks that).
"""
import dataclasses
import functools

dataclass = functools.partial(dataclasses.dataclass, init=False)


@dataclass
class TfExampleFeatureKeyBase:
  """Prefixes every key field with `prefix/` when a non-empty prefix is given."""

  def __init__(self, prefix=None):
    for field in dataclasses.fields(self):
      key = getattr(self, field.name)
      setattr(self, field.name, f'{prefix}/{key}' if prefix else key)
