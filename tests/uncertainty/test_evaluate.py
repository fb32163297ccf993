"""Table 2 end to end: decoders on real sampled detections, scored by pycocotools."""

import json

import pytest
import torch
import yaml

from archsearch.cli import main
from archsearch.detection.evaluate import evaluate
from archsearch.uncertainty import DECODERS, DecoderSettings, decode_images, evaluate_uncertainty
from tests.uncertainty.conftest import variational_detector


def test_identical_samples_reproduce_the_baseline(scenes):
    model = variational_detector("ard")
    images = [scenes[i][0] for i in range(2)]
    mean = model.backbone.neck.weights.mean().detach()
    decoded = decode_images(model, images, mean.repeat(4, 1), DecoderSettings())
    for outputs in decoded:
        base = outputs["baseline"]
        assert len(base["boxes"]) > 0
        for name in ("mean", "varvote"):
            torch.testing.assert_close(outputs[name]["boxes"], base["boxes"], atol=1e-3, rtol=0)
            torch.testing.assert_close(outputs[name]["scores"], base["scores"])
            assert torch.equal(outputs[name]["labels"], base["labels"])
            assert outputs[name]["box_variances"].abs().max() < 1e-6


def test_evaluation_scores_three_decoders(scenes):
    model = variational_detector("ard")
    result = evaluate_uncertainty(model, scenes, samples=3, seed=0, batch_size=2)
    assert list(result.metrics) == list(DECODERS)
    # the baseline decoder is the plain detector: the harness's own evaluation must agree
    plain = evaluate(model, scenes, batch_size=2).metrics["bbox"]
    assert result.metrics["baseline"] == pytest.approx(plain, abs=1e-6)
    assert result.mean_box_variance is not None and result.mean_box_variance > 0
    lines = result.lines()
    assert lines[0].split() == ["decoder", "AP", "AP50", "AP75"]
    assert [line.split()[0] for line in lines[1:4]] == list(DECODERS)
    assert "3 samples, 4 images" in lines[-1]
    json.dumps(result.to_dict())  # a record field


def test_cli_eval_and_draw_with_samples(tmp_path, tiny_runs, capsys):
    out = tmp_path / "ard"
    flags = ["train", "--out", str(out), "--steps", "1", "--set", "channels=16"]
    assert main([*flags, "--strategy", "ard", "--param", "kl_factor=0.01"]) == 0
    run = yaml.safe_load((out / "spec.yaml").read_text())
    assert run["strategy"] == "ard" and run["params"] == {"kl_factor": 0.01}
    capsys.readouterr()
    assert main(["eval", str(out), "--timing-images", "0", "--samples", "2"]) == 0
    printed = capsys.readouterr().out
    assert all(f"\n{name} " in printed for name in DECODERS) and "mean box variance" in printed
    table2 = json.loads((out / "metrics.json").read_text())["uncertainty"]
    assert table2["samples"] == 2 and set(table2["metrics"]) == set(DECODERS)
    figures = tmp_path / "figures"
    draw = ["draw-detections", str(out), "--images", "1", "--samples", "2", "--out", str(figures)]
    assert main([*draw, "--min-score", "0"]) == 0
    assert (figures / "detections-101.png").stat().st_size > 0
    assert main([*draw[:-2], "--images", "7"]) == 2
    assert "no validation image 7" in capsys.readouterr().err

    dense = tmp_path / "dense"
    assert main(["train", "--out", str(dense), "--steps", "1", "--set", "channels=16"]) == 0
    assert main(["eval", str(dense), "--samples", "2"]) == 2
    assert "strategy 'dense'" in capsys.readouterr().err
