"""Readers: one error naming the file for every file that cannot be read, and no YAML bombs."""

import shutil
import time

import pytest
import yaml

from archsearch.cli import main
from archsearch.errors import ConfigError, DataError
from archsearch.io import (
    MAX_YAML_VALUES,
    atomic_write,
    parse_yaml,
    read_json,
    read_text,
    read_yaml,
)

# Seven levels of ten aliases each: 10^7 values once expanded, a few hundred bytes on disk.
BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 10)}]\n"
    for previous, name in zip("abcdef", "bcdefg", strict=True)
)


@pytest.mark.parametrize(
    "text",
    [
        "runs: [{strategy: ard, params: {target: 9}}]\nseeds: &s [0, 1]\nagain: *s\n",
        "",
        "- " * 50 + "x",
        "a: &a [1, 2]\n" + "".join(f"k{i}: *a\n" for i in range(100)),
    ],
)
def test_ordinary_yaml_loads_as_safe_load_does(text):
    assert parse_yaml(text, "t.yaml") == yaml.safe_load(text)


@pytest.mark.parametrize(
    "text, message",
    [
        (BOMB, f"more than {MAX_YAML_VALUES} values once its aliases are expanded"),
        ("&a [*a]", "once its aliases are expanded"),
        ("- " * 5000 + "x", "nested too deeply"),
        ("a: [", "not valid YAML"),
        ("\x00", "not valid YAML"),
    ],
)
def test_bombs_and_broken_yaml_are_one_error_at_once(text, message):
    started = time.perf_counter()
    with pytest.raises(DataError, match=message) as error:
        parse_yaml(text, "t.yaml", DataError)
    assert time.perf_counter() - started < 5
    assert str(error.value).startswith("t.yaml: ") and "\n" not in str(error.value)


def test_a_folder_a_missing_file_and_binary_bytes_name_the_file(tmp_path):
    binary = tmp_path / "b.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    for path, message in [
        (tmp_path, "is a folder, not a file"),
        (tmp_path / "nope.yaml", "no such file"),
        (binary, "not UTF-8 text"),
    ]:
        with pytest.raises(ConfigError, match=message) as error:
            read_text(path)
        assert str(path) in str(error.value)
    latin = tmp_path / "latin.json"
    latin.write_bytes('{"name": "caf\xe9"}'.encode("latin-1"))
    with pytest.raises(ConfigError, match="latin.json: not UTF-8 text"):
        read_json(latin)
    (tmp_path / "list.yaml").write_text("[1, 2")
    with pytest.raises(ConfigError, match="list.yaml: not valid YAML"):
        read_yaml(tmp_path / "list.yaml")


@pytest.mark.parametrize(
    "write, command",
    [
        (lambda p: p.write_text(BOMB), ["run", "{path}"]),
        (
            lambda p: p.write_text("runs: [{strategy: ard, params: {target: *t}}]"),
            ["run", "{path}"],
        ),
        (lambda p: p.write_bytes(bytes(range(256))), ["run", "{path}"]),
        (lambda p: p.mkdir(), ["run", "{path}"]),
        (lambda p: p.write_bytes(bytes(range(256))), ["graph", "draw", "{path}", "--out", "{out}"]),
        (lambda p: p.mkdir(), ["graph", "draw", "{path}", "--out", "{out}"]),
        (lambda p: p.write_text("[1, 2]"), ["graph", "draw", "{path}", "--out", "{out}"]),
        (lambda p: p.write_text(BOMB), ["train", "--config", "{path}"]),
    ],
)
def test_the_command_line_says_one_line_and_writes_nothing(tmp_path, capsys, write, command):
    path = tmp_path / "input"
    write(path)
    before = sorted(tmp_path.rglob("*"))
    code = main([part.format(path=path, out=tmp_path / "g.png") for part in command])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "Traceback" not in err, err
    assert str(path) in err
    assert sorted(tmp_path.rglob("*")) == before


def test_a_write_that_fails_on_a_full_disk_says_so_and_leaves_nothing(tmp_path, monkeypatch):
    """torch.save on a full disk raises a RuntimeError about stream positions; the write
    reports ENOSPC with the path, and no temporary file stays behind."""
    monkeypatch.setattr(
        "shutil.disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9 - 100, 100)
    )

    def torch_like_failure(tmp):
        tmp.write_bytes(b"partial")
        raise RuntimeError("[enforce fail at inline_container.cc:626] . unexpected pos 64")

    with pytest.raises(OSError, match="No space left on device") as error:
        atomic_write(tmp_path / "checkpoint.pt", torch_like_failure)
    assert error.value.filename == str(tmp_path / "checkpoint.pt")
    assert list(tmp_path.iterdir()) == []
