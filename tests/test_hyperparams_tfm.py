"""TFM's config surface: bind/BUILDER, open `Config({...})`, merges, restrictions, ParamsDict."""
import dataclasses
from typing import List, Optional, Tuple

import pytest

from official_like.modeling import hyperparams
from official_like.modeling.hyperparams import bind
from official_like.modeling.hyperparams import Config
from official_like.modeling.hyperparams import ConfigTypeError
from official_like.modeling.hyperparams import OneOfConfig
from official_like.modeling.hyperparams import ParamsDict
from official_like.modeling.hyperparams import RestrictionError
from official_like.modeling.hyperparams import UnknownKeyError


@dataclasses.dataclass
class Leaf(Config):
  a: int = 1
  b: str = 'text'


@dataclasses.dataclass
class SubLeaf(Leaf):
  x: int = 3


@dataclasses.dataclass
class Tree(Config):
  c: int = 2
  leaf: Leaf = dataclasses.field(default_factory=Leaf)
  leaves: Tuple[Leaf, ...] = (Leaf(), SubLeaf())
  names: Tuple[str] = ('a',)
  pair: Tuple[int, str] = (1, 'x')
  maybe: Optional[Leaf] = None


def test_bind_class_and_function():
  @dataclasses.dataclass
  class ModelConfig(Config):
    width: int = 1

  @dataclasses.dataclass
  class LossConfig(Config):
    scale: float = 1.0

  @bind(ModelConfig)
  class Model:  # pylint: disable=unused-variable
    pass

  @bind(LossConfig)
  def make_loss(scale):
    return ('loss', scale)

  assert ModelConfig().BUILDER is Model
  assert LossConfig().BUILDER(2.0) == ('loss', 2.0)
  with pytest.raises(ValueError, match='should not bind'):
    bind(ModelConfig)(Model)
  with pytest.raises(ValueError, match='not a class'):
    bind(ModelConfig())
  with pytest.raises(AttributeError, match='`BUILDER` is a property'):
    ModelConfig().BUILDER = Model


def test_plain_config_is_open_and_follows_tfm_allowlist():
  c = Config({'a': 1, 'b': {'c': [1, 2]}, 'd': ({'e': 1},)})
  assert (c.a, c.b.c, type(c.d), type(c.d[0])) == (1, [1, 2], tuple, Config)
  assert c.as_dict() == {'a': 1, 'b': {'c': [1, 2]}, 'd': ({'e': 1},)}
  with pytest.raises(UnknownKeyError, match=r"^zz: The key 'zz' does not exist; "
                     r"valid keys: a, b, d; override with is_strict=False"):
    c.override({'zz': 1})
  with pytest.raises(ConfigTypeError, match=r'^x: Invalid sequence'):
    Config({'x': [[1]]})
  with pytest.raises(ConfigTypeError, match='^x: Unknown type set'):
    Config({'x': {1}})


def test_declared_config_stays_strict_in_its_constructor():
  with pytest.raises(UnknownKeyError, match="^cc: unknown key; did you mean 'c'"):
    Tree({'cc': 1})
  with pytest.raises(UnknownKeyError, match="constructor argument"):
    Tree().override({'restrictions': ['c > 0']})
  with pytest.raises(UnknownKeyError, match='internally reserved'):
    Tree().override({'_locked': True})
  with pytest.raises(UnknownKeyError, match='internally reserved'):
    Config().override({'lock': 1}, is_strict=False)  # would hide a method


def test_same_length_list_merges_element_by_element():
  t = Tree({'leaves': [{'a': 5}, {'x': 9}]})
  assert type(t.leaves[1]) is SubLeaf and (t.leaves[0].a, t.leaves[1].x) == (5, 9)
  t.override({'leaves': [{'b': 'y'}]})  # another length replaces
  assert t.leaves == (Leaf(b='y'),)
  with pytest.raises(UnknownKeyError, match=r'^leaves\[0\]\.zz: unknown key'):
    Tree().override({'leaves': [{'zz': 1}, {}]})


def test_class_default_configs_are_not_shared():
  first = Tree()
  first.leaves[0].a = 7
  assert Tree().leaves[0].a == 1


def test_tuple_of_one_type_is_any_length_but_pairs_are_fixed():
  assert Tree({'names': ['a', 'b', 'c']}).names == ('a', 'b', 'c')
  assert Tree({'names': []}).names == ()
  with pytest.raises(ConfigTypeError, match='of length 2'):
    Tree({'pair': [1, 'x', 2]})


def test_assignment_merges_a_mapping_but_atomically():
  t = Tree()
  t.leaf.b = 'kept'
  t.leaf = {'a': 4}
  assert (t.leaf.a, t.leaf.b) == (4, 'kept')
  with pytest.raises(ConfigTypeError):
    t.leaf = {'a': 5, 'b': 6}
  assert (t.leaf.a, t.leaf.b) == (4, 'kept')


def test_restrictions():
  Tree(restrictions=['leaf.a < c', 'c != None']).validate()
  with pytest.raises(RestrictionError, match=r"^Found inconsistency between key "
                     r"`leaf.a` and key `c`: restriction 'leaf.a >= c' does not hold: "
                     r'leaf.a = 1, c = 2$'):
    Tree(restrictions=['leaf.a >= c']).validate()
  with pytest.raises(RestrictionError, match="the key 'leaf.z' does not exist"):
    Tree(restrictions=['leaf.z == 1']).validate()
  assert Tree(restrictions=['c == 2']).replace(c=2).validate() is None


def test_from_args_get_and_contains():
  t = Tree.from_args(5, leaf={'a': 3})
  assert (t.c, t.leaf.a) == (5, 3)
  assert 'c' in t and 'zz' not in t and t.get('zz', 0) == 0 and t.get('c') == 5


def test_oneof_with_scalar_choice():
  @dataclasses.dataclass
  class Head(OneOfConfig):
    type: str = 'single'
    single: int = 1
    multi: Leaf = dataclasses.field(default_factory=Leaf)

  h = Head({'single': 1000})
  assert h.get() == 1000 and h.as_dict() == {'type': 'single', 'single': 1000}
  h.validate()


def test_params_dict(tmp_path):
  p = ParamsDict({'a': 1, 'b': {'c': [{'d': 1}]}}, restrictions=['a < 2'])
  assert type(p.b) is ParamsDict and p.b.c == [{'d': 1}]
  hyperparams.override_params_dict(p, 'b.c=[2]', is_strict=True)
  assert p.as_dict() == {'a': 1, 'b': {'c': [2]}}
  with pytest.raises(KeyError, match="The key 'z' does not exist"):
    p.override({'z': 1})
  p.validate()
  path = str(tmp_path / 'p.yaml')
  hyperparams.save_params_dict_to_yaml(p, path)
  assert hyperparams.read_yaml_to_params_dict(path).as_dict() == p.as_dict()
  p.lock()
  with pytest.raises(ValueError, match='locked'):
    p.a = 2


def test_config_keeps_declared_types_where_tfm_does_not():
  """Deliberate: TFM stores any of these silently; a declared field rejects them."""
  with pytest.raises(ConfigTypeError):
    Tree(leaf=Tree())  # TFM's test_replace stores a DumpConfig2 in a DumpConfig1 field
  with pytest.raises(ConfigTypeError):
    Tree({'c': '3'})


@dataclasses.dataclass
class _WithList(Config):
  items: List[Leaf] = dataclasses.field(default_factory=list)


def test_empty_list_then_override_builds_configs():
  w = _WithList({'items': [{'a': 2}]})
  assert w.items == [Leaf(a=2)]
