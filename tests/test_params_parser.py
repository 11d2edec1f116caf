"""YAML loading: safe, with TFM's `!!python/tuple`, and one float-literal rule."""
import dataclasses
from typing import Tuple

import pytest
import yaml

from official_like.modeling.hyperparams import Config
from official_like.modeling.hyperparams import ConfigError
from official_like.modeling.hyperparams import params_parser
from official_like.modeling.hyperparams import yaml_loader


@dataclasses.dataclass
class Video(Config):
  crop_size: Tuple[int, ...] = (224, 224)
  rate: float = 0.1


def test_python_tuple_loads_as_tuple():
  text = 'a: !!python/tuple [1, 2]\nb: !!python/tuple\n- x\n- {c: 1}\n'
  assert yaml_loader.load(text, 'test') == {'a': (1, 2), 'b': ('x', {'c': 1})}


def test_tfm_video_yaml_with_tuple_builds_a_config(tmp_path):
  f = tmp_path / 'video.yaml'
  f.write_text('crop_size: !!python/tuple\n- 112\n- 112\nrate: 1e-3\n')
  c = Video.from_yaml(str(f))
  assert c.crop_size == (112, 112) and c.rate == pytest.approx(1e-3)


@pytest.mark.parametrize('text', [
    "a: !!python/object/apply:os.system ['echo pwned']",
    'a: !!python/name:os.system',
    'a: !!python/object:collections.OrderedDict {}',
])
def test_other_python_tags_are_refused(text):
  with pytest.raises(ConfigError) as e:
    params_parser.parse(text)
  message = str(e.value)
  assert message.startswith('params_override: invalid YAML (line 1')
  assert 'is not allowed' in message and '!!python/tuple' in message


def test_loader_does_not_change_pyyaml_globally():
  with pytest.raises(yaml.constructor.ConstructorError):
    yaml.safe_load('a: !!python/tuple [1]')
  assert yaml.safe_load('a: 1e-3') == {'a': '1e-3'}


def test_exponent_floats_load_as_floats_and_ints_stay_ints():
  loaded = yaml_loader.load('a: 1e-3\nb: -2E+2\nc: 3\nd: 1.5\ne: "1e-3"\nf: 09', 't')
  assert loaded == {'a': 1e-3, 'b': -200.0, 'c': 3, 'd': 1.5, 'e': '1e-3', 'f': '09'}
  assert type(loaded['c']) is int  # pylint: disable=unidiomatic-typecheck


@pytest.mark.parametrize('text,expected', [
    ('1e-3', True), ('-2.5', True), ('.5', True), ('3', True), ('+1E5', True),
    (' 1e3 ', True), ('1e', False), ('e3', False), ('nan', False), ('1_0', False),
    ('abc', False), (None, False), (1.0, False),
])
def test_is_float_literal_is_the_one_rule(text, expected):
  assert yaml_loader.is_float_literal(text) is expected


def test_float_field_accepts_float_literal_string_from_plain_yaml():
  # yaml.safe_load (used by other code) still yields '1e-3'; the field takes it.
  assert Video(yaml.safe_load('rate: 1e-3')).rate == pytest.approx(1e-3)
  assert params_parser.parse('rate=1e-3') == {'rate': 1e-3}
