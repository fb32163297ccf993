"""The examples users read run: every docstring example, and the README's Python blocks.

An example that no longer matches the code fails here instead of misleading a reader.
"""

import doctest
import importlib
import pkgutil
import re
from pathlib import Path

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


def test_docstring_examples_hold():
    """One test over every module, so that examples vanishing makes it fail, not skip."""
    results = {
        name: doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
        for name in _modules_with_examples()
    }
    assert results and all(result.attempted > 0 for result in results.values()), results
    assert [name for name, result in results.items() if result.failed] == []


def test_the_readme_python_blocks_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert blocks, "README.md has no Python block"
    for block in blocks:
        exec(compile(block, str(README), "exec"), {})
