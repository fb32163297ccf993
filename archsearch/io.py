"""Files in and out: reads that fail with one line naming the file, and atomic writes.

Reading: every text, JSON or YAML file a user hands archsearch goes through `read_text`,
`read_json` or `read_yaml`, so a folder where a file belongs, a binary file or an alias bomb
gets the same one-line error (of the caller's kind: `ConfigError`, `GraphError`,
`DataError`) wherever it is read. Writing: a result or checkpoint is either whole on disk or
not there at all.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from archsearch.errors import ArchsearchError, ConfigError

# Values a YAML document may hold once its aliases are expanded: experiment files hold
# hundreds; a few nested anchors ("billion laughs") expand to billions, which would hang
# whatever turns the value into a run id or an error message.
MAX_YAML_VALUES = 100_000


def read_text(path: Path, error: type[ArchsearchError] = ConfigError) -> str:
    """The UTF-8 text of the file ``path``; ``error`` naming it when there is none to read."""
    path = Path(path)
    if path.is_dir():
        raise error(f"{path} is a folder, not a file")
    if not path.exists():
        raise error(f"{path}: no such file")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as problem:
        raise error(f"{path}: not UTF-8 text (byte {problem.start})") from None
    except OSError as problem:
        raise error(f"{path}: cannot be read ({problem.strerror})") from None


def read_json(path: Path, error: type[ArchsearchError] = ConfigError) -> Any:
    """The JSON document in ``path`` (`read_text`'s errors, and ``error`` when not JSON)."""
    try:
        return json.loads(read_text(path, error))
    except json.JSONDecodeError as problem:
        raise error(f"{path}: not JSON ({problem})") from None


def read_yaml(path: Path, error: type[ArchsearchError] = ConfigError) -> Any:
    """The YAML document in ``path``, loaded safely (`parse_yaml`)."""
    return parse_yaml(read_text(path, error), str(path), error)


def parse_yaml(text: str, source: str, error: type[ArchsearchError] = ConfigError) -> Any:
    """``yaml.safe_load`` of ``text``, refused when it is no YAML or expands past
    `MAX_YAML_VALUES` values (counted on the composed nodes, before anything is built)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None and _expanded_size(node) > MAX_YAML_VALUES:
            raise error(
                f"{source}: more than {MAX_YAML_VALUES} values once its aliases are expanded"
            )
        return yaml.safe_load(text)
    except yaml.YAMLError as problem:
        reason = " ".join(str(problem).split())
        raise error(f"{source}: not valid YAML ({reason})") from None
    except RecursionError:
        raise error(f"{source}: nested too deeply to read") from None


def _expanded_size(root: yaml.Node) -> float:
    """Values under ``root`` with every alias expanded, each shared node sized once; a node
    that holds itself (a recursive alias) is infinite."""
    sizes: dict[int, float] = {}
    open_nodes: set[int] = set()  # expanded, children not yet sized: the current path
    stack = [(root, False)]
    while stack:
        node, children_sized = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if children_sized:
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child in children)
            open_nodes.discard(id(node))
        elif id(node) in open_nodes:
            return float("inf")
        else:
            open_nodes.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _file_mode() -> int:
    """The mode `open` gives a new file: 0666 less the process's umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _file_mode()


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place.

    The rename is atomic on POSIX, so a reader (or a resumed run) never sees half a file.
    The temporary file ends as ``path`` does, for writers that go by the suffix.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}"
    )
    os.close(handle)
    try:
        write(Path(tmp))
        os.chmod(tmp, _FILE_MODE)  # mkstemp's 0600 would hide results from a group's readers
        os.replace(tmp, path)
    except BaseException as error:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(error, Exception) and not isinstance(error, OSError) and _disk_full(path):
            # torch.save reports a full disk as a RuntimeError about stream positions
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path)) from error
        raise
    return path


def _disk_full(path: Path) -> bool:
    """Whether the file system of ``path`` has less than a mebibyte left."""
    return shutil.disk_usage(path.parent).free < 2**20


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text))
