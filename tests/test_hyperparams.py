"""Every rule of the config system, error messages included."""
import dataclasses
import json
import subprocess
import sys
import textwrap
from typing import Dict, List, Optional, Tuple, Union

import pytest

from official_like.modeling.hyperparams import Config
from official_like.modeling.hyperparams import ConfigError
from official_like.modeling.hyperparams import ConfigTypeError
from official_like.modeling.hyperparams import LockedConfigError
from official_like.modeling.hyperparams import OneOfConfig
from official_like.modeling.hyperparams import parse_override
from official_like.modeling.hyperparams import UnknownKeyError


@dataclasses.dataclass
class SGD(Config):
  clipnorm: Optional[float] = None
  clipvalue: Optional[float] = None
  decay: float = 0.0
  global_clipnorm: Optional[float] = None
  momentum: float = 0.0
  name: str = 'SGD'
  nesterov: bool = False


@dataclasses.dataclass
class Adam(Config):
  beta_1: float = 0.9
  amsgrad: bool = False


@dataclasses.dataclass
class Optimizer(OneOfConfig):
  sgd: SGD = dataclasses.field(default_factory=SGD)
  adam: Adam = dataclasses.field(default_factory=Adam)


@dataclasses.dataclass
class Layer(Config):
  width: int = 8
  activation: str = 'relu'


@dataclasses.dataclass
class Model(Config):
  width: int = 16
  dropout: float = 0.0
  layers: List[Layer] = dataclasses.field(default_factory=list)
  kernel: Tuple[int, ...] = (3, 3)
  extra: Dict[str, int] = dataclasses.field(default_factory=dict)
  head: Optional[Layer] = None
  path: Union[str, List[str]] = ''


@dataclasses.dataclass
class Experiment(Config):
  optimizer: Optimizer = dataclasses.field(default_factory=Optimizer)
  model: Model = dataclasses.field(default_factory=Model)
  train_steps: int = 100

  def validate(self):
    super().validate()
    if self.train_steps <= 0:
      raise ConfigError(('train_steps',), f'must be > 0, got {self.train_steps}')


def _msg(excinfo):
  return str(excinfo.value)


class TestConstruction:

  def test_positional_dict_as_in_tfm(self):
    c = Experiment({'optimizer': {'type': 'sgd', 'sgd': {'momentum': 0.9}}})
    assert c.optimizer.type == 'sgd'
    assert c.optimizer.get().momentum == 0.9
    assert c.train_steps == 100  # untouched default

  def test_keywords(self):
    c = Experiment(train_steps=5, model=Model(width=3))
    assert (c.train_steps, c.model.width) == (5, 3)

  def test_keyword_dict_builds_nested_config(self):
    c = Experiment(model={'width': 4})
    assert isinstance(c.model, Model) and c.model.width == 4

  def test_unknown_keyword_suggests(self):
    with pytest.raises(UnknownKeyError) as e:
      Experiment(train_step=5)
    assert _msg(e) == ("train_step: unknown key; did you mean 'train_steps'? "
                       'valid keys: model, optimizer, train_steps')

  def test_from_yaml_file(self, tmp_path):
    f = tmp_path / 'exp.yaml'
    f.write_text('train_steps: 7\nmodel:\n  width: 5\n  kernel: [1, 2]\n')
    c = Experiment.from_yaml(str(f))
    assert (c.train_steps, c.model.width, c.model.kernel) == (7, 5, (1, 2))

  def test_from_yaml_and_json_strings(self):
    assert Experiment.from_string('train_steps: 3').train_steps == 3
    assert Experiment.from_string(json.dumps({'model': {'width': 2}})).model.width == 2
    assert Experiment.from_string('model.width=9').model.width == 9

  def test_missing_file_is_named(self, tmp_path):
    with pytest.raises(ConfigError) as e:
      Experiment.from_yaml(str(tmp_path / 'nope.yaml'))
    assert 'file not found' in _msg(e) and 'nope.yaml' in _msg(e)

  def test_defaults_are_independent_instances(self):
    a, b = Experiment(), Experiment()
    a.model.layers.append(Layer())
    assert b.model.layers == []


class TestTypes:

  def test_int_accepted_for_float(self):
    c = Experiment({'model': {'dropout': 1}})
    assert c.model.dropout == 1.0 and isinstance(c.model.dropout, float)

  @pytest.mark.parametrize('key,value,expected', [
      ('train_steps', 'x', "train_steps: expected int, got str 'x'"),
      ('train_steps', 1.5, 'train_steps: expected int, got float 1.5'),
      ('train_steps', True, 'train_steps: expected int, got bool True'),
      ('model.dropout', 'high', "model.dropout: expected float, got str 'high'"),
      ('model.dropout', False, 'model.dropout: expected float, got bool False'),
      ('optimizer.sgd.nesterov', 1, 'optimizer.sgd.nesterov: expected bool, got int 1'),
      ('optimizer.sgd.name', 3, 'optimizer.sgd.name: expected str, got int 3'),
      ('model.kernel', [1, 'a'], "model.kernel[1]: expected int, got str 'a'"),
      ('model.layers', [{'width': 'w'}], "model.layers[0].width: expected int, got str 'w'"),
      ('model.extra', {'a': 'b'}, "model.extra.a: expected int, got str 'b'"),
      ('model', 5, 'model: expected Model, got int 5'),
  ])
  def test_nothing_else_is_coerced(self, key, value, expected):
    c = Experiment()
    nested = value
    for part in reversed(key.split('.')):
      nested = {part: nested}
    with pytest.raises(ConfigTypeError) as e:
      c.override(nested)
    assert _msg(e) == expected

  def test_optional_and_union_fields(self):
    c = Experiment({'optimizer': {'sgd': {'clipnorm': 1}}, 'model': {'path': ['a', 'b']}})
    assert c.optimizer.sgd.clipnorm == 1.0
    assert c.model.path == ['a', 'b']
    c.override({'optimizer': {'sgd': {'clipnorm': None}}, 'model': {'path': 'x'}})
    assert c.optimizer.sgd.clipnorm is None and c.model.path == 'x'
    with pytest.raises(ConfigTypeError, match=r'model.path: expected Union\[str, List\[str\]\]'):
      c.override({'model': {'path': 3}})

  def test_optional_nested_config_from_dict(self):
    c = Experiment({'model': {'head': {'width': 2}}})
    assert c.model.head == Layer(width=2)

  def test_list_of_configs_and_tuple(self):
    c = Experiment({'model': {'layers': [{'width': 1}, {'activation': 'gelu'}],
                              'kernel': [5, 5]}})
    assert c.model.layers == [Layer(width=1), Layer(activation='gelu')]
    assert c.model.kernel == (5, 5)

  def test_float_literal_string_from_yaml(self):
    # PyYAML (YAML 1.1) reads 1e-3 as a string; float fields take it.
    c = Experiment.from_string('model:\n  dropout: 1e-3\n')
    assert c.model.dropout == pytest.approx(1e-3)
    with pytest.raises(ConfigTypeError):
      Experiment.from_string("train_steps: '1e3'")

  def test_attribute_assignment_is_checked(self):
    c = Experiment()
    with pytest.raises(ConfigTypeError):
      c.train_steps = 'ten'
    with pytest.raises(UnknownKeyError, match="did you mean 'train_steps'"):
      c.train_stepz = 1
    with pytest.raises(AttributeError, match="did you mean 'train_steps'"):
      _ = c.train_stepz


class TestOverride:

  def test_tfm_override_string(self):
    c = Experiment()
    c.override("train_steps=100,model.width=64,optimizer.sgd.momentum=0.9,"
               "model.kernel=[1,2],optimizer.sgd.name='x,y',optimizer.type=sgd")
    assert (c.train_steps, c.model.width, c.optimizer.sgd.momentum) == (100, 64, 0.9)
    assert c.model.kernel == (1, 2) and c.optimizer.sgd.name == 'x,y'
    assert c.optimizer.get() is c.optimizer.sgd

  def test_override_from_yaml_file_path(self, tmp_path):
    f = tmp_path / 'o.yaml'
    f.write_text('model:\n  width: 11\n')
    assert Experiment().override(str(f)).model.width == 11

  def test_nested_override_merges(self):
    c = Experiment({'optimizer': {'type': 'sgd', 'sgd': {'momentum': 0.5, 'nesterov': True}}})
    c.override({'optimizer': {'sgd': {'momentum': 0.1}}})
    assert c.optimizer.sgd.nesterov is True and c.optimizer.sgd.momentum == 0.1

  def test_unknown_key_message_shape(self):
    with pytest.raises(UnknownKeyError) as e:
      Experiment().override('optimizer.sgd.momentom=0.9')
    assert _msg(e) == ("optimizer.sgd.momentom: unknown key; did you mean 'momentum'? "
                       'valid keys: clipnorm, clipvalue, decay, global_clipnorm, '
                       'momentum, name, nesterov')
    assert isinstance(e.value, KeyError)

  def test_unknown_key_without_close_match(self):
    with pytest.raises(UnknownKeyError) as e:
      Experiment().override({'zzz': 1})
    assert _msg(e) == 'zzz: unknown key; valid keys: model, optimizer, train_steps'

  def test_override_is_all_or_nothing(self):
    c = Experiment()
    with pytest.raises(ConfigError):
      c.override({'train_steps': 5, 'model': {'width': 'bad'}})
    assert c.train_steps == 100 and c.model.width == 16

  def test_non_strict_adds_keys(self):
    c = Experiment()
    c.override({'new_key': 3, 'model': {'new_sub': 'x'}}, is_strict=False)
    assert c.new_key == 3 and c.model.new_sub == 'x'
    assert c.as_dict()['new_key'] == 3

  @pytest.mark.parametrize('text,fragment', [
      ('model.width', "expected a mapping ('key: value' YAML, JSON object or 'a.b=1,c=2'), got str 'model.width'"),
      ('a.b=1,c', "expected 'key=value', got 'c'"),
      ('a.=1', "bad key 'a.'"),
      ('a=[1,2', 'unclosed quote or bracket'),
      ('a=1]', "unbalanced ']'"),
      ('a=1,a.b=2', "key 'a' is set to a value and also used as a section"),
      ('[1, 2]', 'expected a mapping'),
      ('a: [1, 2', 'invalid YAML (line 1'),
  ])
  def test_parser_errors(self, text, fragment):
    with pytest.raises(ConfigError) as e:
      parse_override(text)
    assert fragment in _msg(e) and 'params_override' in _msg(e)

  def test_parser_values(self):
    assert parse_override("a=1,b=2.5,c=1e-3,d=true,e=null,f='s',g=[1,'x'],h={k: 1},i=word") == {
        'a': 1, 'b': 2.5, 'c': 1e-3, 'd': True, 'e': None, 'f': 's',
        'g': [1, 'x'], 'h': {'k': 1}, 'i': 'word'}
    assert parse_override('') == {} and parse_override('{"a": {"b": 1}}') == {'a': {'b': 1}}
    # YAML 1.1 would read these as booleans; a strategy named 'off' must stay a string.
    assert parse_override('a=off,b=on,c=yes,d=no,e=False') == {
        'a': 'off', 'b': 'on', 'c': 'yes', 'd': 'no', 'e': False}


class TestRoundTripReplaceLock:

  def test_as_dict_round_trips(self):
    c = Experiment({'optimizer': {'type': 'adam', 'adam': {'beta_1': 0.5}},
                    'model': {'layers': [{'width': 2}], 'head': {'width': 1},
                              'extra': {'a': 1}, 'kernel': [7, 7]}})
    d = c.as_dict()
    assert Experiment(d) == c
    assert Experiment.from_string(c.as_yaml()) == c
    assert d['model']['kernel'] == (7, 7)  # a tuple stays a tuple, as in TFM
    assert '- 7' in c.as_yaml()  # and YAML gets a plain list

  def test_replace_returns_modified_copy(self):
    c = Experiment()
    d = c.replace(train_steps=3, model={'width': 1})
    assert (d.train_steps, d.model.width) == (3, 1)
    assert (c.train_steps, c.model.width) == (100, 16)

  def test_lock(self):
    c = Experiment().lock()
    assert c.is_locked and not c.model.is_locked  # Shallow, as in TFM.
    with pytest.raises(LockedConfigError, match='train_steps: config is locked'):
      c.train_steps = 1
    with pytest.raises(LockedConfigError):
      c.override({'train_steps': 1})
    with pytest.raises(LockedConfigError):
      c.override({'model': {'width': 1}})
    c.model.width = 1
    assert c.model.width == 1
    d = c.replace(train_steps=2)
    assert d.train_steps == 2 and d.is_locked and c.train_steps == 100

  def test_validate_reports_full_path(self):
    @dataclasses.dataclass
    class Positive(Config):
      n: int = 1

      def validate(self):
        if self.n <= 0:
          raise ConfigError(('n',), 'must be > 0')

    @dataclasses.dataclass
    class Outer(Config):
      items: List[Positive] = dataclasses.field(default_factory=list)

    with pytest.raises(ConfigError, match=r'^items\[1\].n: must be > 0$'):
      Outer({'items': [{'n': 1}, {'n': 0}]}).validate()
    with pytest.raises(ConfigError, match='train_steps: must be > 0, got 0'):
      Experiment(train_steps=0).validate()


class TestOneOf:

  def test_get(self):
    assert Optimizer().get() is None
    o = Optimizer({'type': 'adam'})
    assert o.get() is o.adam

  def test_unknown_type_lists_valid(self):
    with pytest.raises(ConfigError) as e:
      Experiment().override('optimizer.type=sgdd')
    assert _msg(e) == "optimizer.type: unknown type 'sgdd'; did you mean 'sgd'? valid types: adam, sgd"

  def test_as_dict_exports_only_selected(self):
    assert Optimizer().as_dict() == {'type': None}
    assert Optimizer({'type': 'adam'}).as_dict() == {
        'type': 'adam', 'adam': {'beta_1': 0.9, 'amsgrad': False}}

  def test_validate_only_selected(self):
    @dataclasses.dataclass
    class Strict(Config):
      x: Optional[int] = None

      def validate(self):
        if self.x is None:
          raise ConfigError(('x',), 'is required')

    @dataclasses.dataclass
    class Choice(OneOfConfig):
      strict: Strict = dataclasses.field(default_factory=Strict)
      adam: Adam = dataclasses.field(default_factory=Adam)

    Choice({'type': 'adam'}).validate()
    with pytest.raises(ConfigError, match='^strict.x: is required$'):
      Choice({'type': 'strict'}).validate()

  def test_register_option(self):
    @dataclasses.dataclass
    class Choice(OneOfConfig):
      adam: Adam = dataclasses.field(default_factory=Adam)

    before = Choice()
    Choice.register_option('mine', SGD)
    c = Choice({'type': 'mine', 'mine': {'momentum': 0.3}})
    assert c.get() == SGD(momentum=0.3)
    assert before.mine == SGD()  # instances made earlier see the default
    assert Choice(c.as_dict()) == c
    assert c != Choice({'type': 'mine', 'mine': {'momentum': 0.4}})
    with pytest.raises(ConfigError, match='already has a choice'):
      Choice.register_option('adam', Adam)


def test_value_types_does_not_import_base_config():
  """The import graph is one-way: base_config -> value_types, never back."""
  import ast  # pylint: disable=g-import-not-at-top
  import official_like.modeling.hyperparams.value_types as value_types  # pylint: disable=g-import-not-at-top
  with open(value_types.__file__, encoding='utf-8') as f:
    tree = ast.parse(f.read())
  imported = {getattr(n, 'module', None) or a.name for n in ast.walk(tree)
              if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
  imported |= {f'{n.module}.{a.name}' for n in ast.walk(tree)
               if isinstance(n, ast.ImportFrom) and n.module for a in n.names}
  assert not [m for m in imported if 'base_config' in m or 'oneof' in m]


def test_no_tensorflow_import():
  code = textwrap.dedent('''
      import sys
      from official_like.modeling import hyperparams
      assert 'tensorflow' not in sys.modules, 'hyperparams imported TensorFlow'
  ''')
  subprocess.run([sys.executable, '-c', code], check=True)
