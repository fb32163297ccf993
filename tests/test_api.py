"""The public API: what each subpackage exports exists and says what it is."""

import importlib
import inspect

import pytest

PACKAGES = [
    "archsearch",
    "archsearch.data",
    "archsearch.detection",
    "archsearch.experiment",
    "archsearch.graph",
    "archsearch.neck",
    "archsearch.reporting",
    "archsearch.strategies",
    "archsearch.tuning",
    "archsearch.uncertainty",
    "archsearch.weights",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_exported_name_exists_and_is_documented(name):
    package = importlib.import_module(name)
    assert package.__doc__, f"{name} has no docstring"
    exported = package.__all__
    assert len(exported) == len(set(exported)), f"{name}.__all__ repeats a name"
    for attribute in exported:
        value = getattr(package, attribute)  # AttributeError: exported but missing
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"{name}.{attribute} has no docstring"


def test_node_kinds_stay_internal():
    import archsearch.graph

    assert not {"BLOCK", "INPUT", "OUTPUT", "GRAPHS"} & set(archsearch.graph.__all__)
