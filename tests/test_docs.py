"""The examples users read run: every docstring example, and the README's Python blocks.

An example that no longer matches the code fails here instead of misleading a reader.
"""

import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import archsearch
import baselines

README = Path(__file__).resolve().parents[1] / "README.md"


def _modules_with_examples() -> list[str]:
    names = []
    for package in (archsearch, baselines):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if info.name.endswith("__main__"):  # runs the command line when imported
                continue
            if ">>>" in Path(importlib.import_module(info.name).__file__).read_text():
                names.append(info.name)
    return names


@pytest.mark.parametrize("name", _modules_with_examples())
def test_docstring_examples_hold(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_the_readme_python_blocks_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert blocks, "README.md has no Python block"
    for block in blocks:
        exec(compile(block, str(README), "exec"), {})
