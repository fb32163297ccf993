"""Profiles: changes by name, checked, with YAML's lists read as the fields' tuples."""

import pytest
import yaml

from archsearch.detection.profiles import QUICK
from archsearch.errors import ConfigError


def test_a_profile_changed_from_yaml_equals_the_one_changed_in_code():
    text = "levels: [3, 7]\nanchor_range: [8.0, 40.0]\nchannels: 32\n"
    from_yaml = QUICK.replace(**yaml.safe_load(text))
    in_code = QUICK.replace(levels=(3, 7), anchor_range=(8.0, 40.0), channels=32)
    assert from_yaml == in_code and hash(from_yaml) == hash(in_code)
    assert from_yaml != QUICK


def test_an_unknown_setting_is_named():
    with pytest.raises(ConfigError, match="profile has no setting 'chanels'"):
        QUICK.replace(chanels=8)
