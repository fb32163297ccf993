"""The `archsearch` command: help, graph build/info, demo, and one-line errors."""

import json
import subprocess
import sys

import pytest

from archsearch.cli import main
from archsearch.graph import dense, load_json, to_dict


def test_help_lists_subcommands(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "graph" in out and "demo" in out


def test_console_script_runs():
    result = subprocess.run(
        [sys.executable, "-m", "archsearch", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "usage: archsearch" in result.stdout


IMPORTED_BY = """
import sys
from archsearch.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
heavy = ("torch", "torchvision", "optuna", "matplotlib")
print(" ".join(sorted(name for name in heavy if name in sys.modules)))
"""


@pytest.mark.parametrize("args", [["--help"], ["graph", "info", "{graph}"], ["graph", "--help"]])
def test_the_front_door_does_not_load_torch(tmp_path, args):
    """Help and graph files need networkx alone: torch and its kin stay unloaded."""
    graph = tmp_path / "g.json"
    graph.write_text(json.dumps(to_dict(dense())))
    argv = [arg.format(graph=graph) for arg in args]
    result = subprocess.run(
        [sys.executable, "-c", IMPORTED_BY, *argv], capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines()[-1] == "", result.stdout


def test_every_command_is_listed_and_a_command_gets_its_full_parser(capsys):
    assert main([]) == 0
    listed = capsys.readouterr().out
    for command in ("data", "export", "run", "runs", "train", "eval", "draw-detections", "tune"):
        assert f"    {command} " in listed or f"    {command}\n" in listed, command
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    assert "--neck-only" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit:
        main(["nope"])
    err = capsys.readouterr().err.strip()
    assert exit.value.code == 2 and "invalid choice: 'nope'" in err and "\n" not in err


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


@pytest.mark.parametrize(
    "command, message",
    [
        (["train", "--base-lr", "nan"], "argument --base-lr: 'nan' is not a finite number"),
        (["train", "--checkpoint-every", "-1"], "argument --checkpoint-every: -1 is below 0"),
        (["train", "--num-workers", "-1"], "argument --num-workers: -1 is below 0"),
        (["train", "--steps", "ten"], "argument --steps: 'ten' is not a whole number"),
        (["train", "--scenes", "0"], "data.digits.scenes: 0 is not a whole number >= 1"),
        (["train", "--set", "channels=abc"], "channels 'abc' must be a whole number >= 1"),
        (["train", "--set", "batch_size=0"], "batch_size 0 must be a whole number >= 1"),
        (["train", "--strategy", "ard", "--param", "target=abc"], "target: 'abc' is not a number"),
        (["train", "--strategy", "ard", "--param", "prune_start=5"], "above its maximum 1.0"),
        (["train", "--strategy", "ard", "--param", "rounds=0"], "rounds: 0 is below its minimum"),
        (["eval", "{tmp}", "--timing-images", "-5"], "argument --timing-images: -5 is below 0"),
        (["runs", "list", "nosuch", "--root", "{tmp}"], "no study 'nosuch': no database at"),
        (["runs", "list", "junk", "--root", "{tmp}"], "junk.db: not a study database"),
        (["runs", "list", "x", "--storage", "notaurl"], "notaurl: not a study database"),
        (["report", "nosuch", "--root", "{tmp}"], "neither a records folder nor a study"),
        (["graph", "draw"], "the following arguments are required"),
    ],
)
def test_bad_values_are_one_line_and_change_nothing(tmp_path, capsys, command, message):
    (tmp_path / "junk.db").write_bytes(bytes(range(256)) * 16)
    out = ["--out", str(tmp_path / "run")] if command[0] == "train" else []
    before = sorted(tmp_path.rglob("*"))
    try:
        code = main([part.format(tmp=tmp_path) for part in command] + out)
    except SystemExit as exit:  # argparse's own errors
        code = exit.code
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err, err
    assert sorted(tmp_path.rglob("*")) == before


def test_graphs_past_the_size_limits_are_refused(tmp_path, capsys):
    out = str(tmp_path / "g.json")
    assert main(["graph", "build", "dense", "--levels", "3-300", "--out", out]) == 2
    assert "levels run from 0 to 12" in capsys.readouterr().err
    data = to_dict(dense())
    data["nodes"] += [{"id": f"X{i}", "kind": "block", "level": 3} for i in range(5000)]
    (tmp_path / "big.json").write_text(json.dumps(data))
    assert main(["graph", "draw", str(tmp_path / "big.json"), "--out", out + ".png"]) == 2
    assert "5020 nodes, more than a fusion graph's 1000" in capsys.readouterr().err
    assert main(["graph", "draw", str(tmp_path / "big.json"), "--out", out + ".xyz"]) == 2
    assert "matplotlib writes no '.xyz' files" in capsys.readouterr().err
    assert not (tmp_path / "g.json").exists()
