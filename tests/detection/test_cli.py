"""`archsearch train` / `archsearch eval`: settings resolve in order, runs resume and evaluate."""

import json

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
    assert not (tmp_path / "r").exists()
    assert main(["eval", str(tmp_path)]) == 2
    assert "is not a run folder (no spec.yaml" in capsys.readouterr().err
