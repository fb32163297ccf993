"""`archsearch train` / `archsearch eval`: settings resolve in order, runs resume and evaluate."""

import hashlib
import io
import json
import pathlib

import torch
import yaml

from archsearch.cli import main


def test_train_resume_and_eval(tmp_path, tiny_runs, capsys):
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"steps": 2, "checkpoint-every": 1, "seed": 3}))
    out = tmp_path / "run"
    flags = ["train", "--config", str(config), "--out", str(out), "--set", "channels=16"]
    assert main(flags) == 0
    run = yaml.safe_load((out / "spec.yaml").read_text())
    assert run["seed"] == 3 and run["overrides"] == {"channels": 16, "steps": 2}
    assert main(flags) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert main([*flags, "--steps", "3", "--resume"]) == 0
    steps = [json.loads(line)["step"] for line in (out / "log.jsonl").read_text().splitlines()]
    assert steps == [2, 3]  # every 10th step and the last of each run
    assert main(["eval", str(out), "--timing-images", "1"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["step"] == 3 and set(metrics["metrics"]["bbox"]) >= {"AP", "AP50", "APS"}
    assert "bbox" in capsys.readouterr().out


def test_bad_settings_exit_with_one_line(tmp_path, tiny_runs, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump({"stepz": 2}))
    assert main(["train", "--config", str(config)]) == 2
    assert "unknown setting 'stepz'" in capsys.readouterr().err
    assert main(["train", "--out", str(tmp_path / "r"), "--set", "chanels=8"]) == 2
    assert "no setting 'chanels'" in capsys.readouterr().err
    # checked as an experiment file's run is, before any data or training
    assert main(["train", "--out", str(tmp_path / "r"), "--neck", "fpnn"]) == 2
    assert "archsearch train: unknown neck 'fpnn'" in capsys.readouterr().err
    assert (
        main(["train", "--out", str(tmp_path / "r"), "--neck", "pconv", "--strategy", "ard"]) == 2
    )
    assert "neck 'pconv' is no graph" in capsys.readouterr().err
    for param, message in [
        ("criterion=median", "criterion: 'median' is not one of 'snr', 'mean', 'share'"),
        ("connection_optimizer=lbfgs", "connection_optimizer: 'lbfgs' is not one of 'sgd'"),
        ("connection_lr=-0.01", "connection_lr: -0.01 is below its minimum 0.0"),
    ]:
        flags = ["--strategy", "ard", "--param", param]
        assert main(["train", "--out", str(tmp_path / "r"), *flags]) == 2
        assert f"strategy 'ard', hyper-parameter {message}" in capsys.readouterr().err
    flags = ["--strategy", "taylor", "--param", "target=70"]
    assert main(["train", "--out", str(tmp_path / "r"), *flags]) == 2
    assert "target 70 is outside what graph 'dense' allows: 5 to 63" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
    assert main(["eval", str(tmp_path)]) == 2
    assert "is not a run folder (no spec.yaml" in capsys.readouterr().err


class Payload:
    """Unpickling this runs code: it touches ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def _checksums(folder):
    files = (p for p in folder.rglob("*") if p.is_file())
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_a_crafted_checkpoint_runs_no_code_and_a_failed_resume_changes_nothing(
    tmp_path, tiny_runs, capsys
):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--steps", "1", "--set", "channels=16"]) == 0
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    marker = tmp_path / "code-ran"
    torch.save({**state, "model": Payload(marker)}, out / "checkpoint.pt")
    before = _checksums(out)
    capsys.readouterr()
    for command in (
        ["eval", str(out), "--timing-images", "0"],
        ["draw-detections", str(out), "--out", str(tmp_path / "d.png")],
        ["train", "--out", str(out), "--steps", "2", "--set", "channels=16", "--resume"],
    ):
        assert main(command) == 2, command
        err = capsys.readouterr().err.strip()
        assert "not a readable archsearch checkpoint" in err and "\n" not in err, err
        assert not marker.exists()
    assert _checksums(out) == before
    # a resume with other settings than the checkpoint's fails and rewrites nothing
    torch.save(state, out / "checkpoint.pt")
    before = _checksums(out)
    capsys.readouterr()
    assert main(["train", "--out", str(out), "--steps", "2", "--neck", "fpn", "--resume"]) == 2
    assert "was trained with other settings (neck, overrides)" in capsys.readouterr().err
    assert _checksums(out) == before
    empty = tmp_path / "empty"
    assert main(["train", "--out", str(empty), "--resume"]) == 2
    assert capsys.readouterr().err.strip().endswith("checkpoint.pt to resume")  # before any data
    assert not empty.exists() or not any(empty.iterdir())


def test_a_checkpoint_that_is_no_checkpoint_is_one_line(tmp_path, tiny_runs, capsys):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--steps", "1", "--set", "channels=16"]) == 0
    good = (out / "checkpoint.pt").read_bytes()
    capsys.readouterr()
    for content in (b"", good[: len(good) // 2], bytes(range(256)) * 8):
        (out / "checkpoint.pt").write_bytes(content)
        assert main(["eval", str(out), "--timing-images", "0"]) == 2
        err = capsys.readouterr().err.strip()
        assert "checkpoint.pt: not a readable archsearch checkpoint" in err, err
        assert "\n" not in err
    torch.save({"step": 1}, out / "checkpoint.pt")
    assert main(["eval", str(out), "--timing-images", "0"]) == 2
    assert "not an archsearch checkpoint (missing" in capsys.readouterr().err
    state = torch.load(io.BytesIO(good), weights_only=True)
    name = next(k for k, v in state["model"].items() if v.dim() == 4)
    state["model"][name] = state["model"][name][:, :1]  # a tensor of another shape
    torch.save(state, out / "checkpoint.pt")
    for command in (["eval", str(out), "--timing-images", "0"], ["train", "--out", str(out)]):
        resume = (
            ["--steps", "2", "--set", "channels=16", "--resume"] if command[0] == "train" else []
        )
        assert main(command + resume) == 2
        err = capsys.readouterr().err.strip()
        assert "checkpoint.pt: does not fit this run (" in err and "\n" not in err, err
