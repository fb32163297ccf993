"""The `archsearch` command: help, graph build/info, demo, and one-line errors."""

import subprocess
import sys

from archsearch.cli import main
from archsearch.graph import load_json


def test_help_lists_subcommands(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "graph" in out and "demo" in out


def test_console_script_runs():
    result = subprocess.run(
        [sys.executable, "-m", "archsearch", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "usage: archsearch" in result.stdout


def test_graph_build_and_info(tmp_path, capsys):
    path = tmp_path / "g.json"
    assert main(["graph", "build", "dense", "--out", str(path), "--levels", "2-6"]) == 0
    assert load_json(path).levels == (2, 6)
    assert main(["graph", "info", str(path)]) == 0
    assert "connections: 63" in capsys.readouterr().out
    assert main(["graph", "build", "dense", "--out", str(tmp_path / "g.graphml")]) == 0
    assert (tmp_path / "g.graphml").read_text().startswith("<?xml")


def test_errors_are_one_line_with_exit_2(tmp_path, capsys):
    assert main(["graph", "build", "nope", "--out", str(tmp_path / "x.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown graph 'nope'" in err
    assert main(["graph", "info", str(tmp_path / "missing.json")]) == 2
    assert "missing.json: no such file" in capsys.readouterr().err
