"""The experiment layer: ``samples`` in an experiment file, checked before any training."""

from pathlib import Path

import pytest
import yaml

from archsearch.errors import ConfigError
from archsearch.experiment.config import expand_runs, load_experiment

TABLE2 = Path(__file__).parents[2] / "experiments" / "table2_uncertainty.yaml"


def test_table2_experiment_samples_ten_networks_on_three_scene_profiles():
    config = load_experiment(TABLE2)
    data = set()
    for profile in ("quick-mixed", "quick-large", "quick-small"):
        runs = expand_runs(config, profile)
        assert {run.samples for run in runs} == {10} and {run.strategy for run in runs} == {"ard"}
        data |= {run.data["digits"]["layout"] for run in runs}
    assert data == {"mixed", "large", "small"}


@pytest.mark.parametrize(
    ("samples", "strategy", "message"),
    [
        (10, "lasso", "strategy 'lasso' has deterministic weights"),
        (-1, "ard", "samples must be a count"),
        ("ten", "ard", "'samples' must be a whole number, got 'ten'"),
    ],
)
def test_bad_samples_name_the_file_and_the_run(tmp_path, samples, strategy, message):
    path = tmp_path / "exp.yaml"
    config = {
        "name": "x",
        "samples": samples,
        "data": {"digits": "mixed"},
        "runs": [{"strategy": strategy}],
        "presets": {"quick": {"profile": "quick"}},
    }
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match=message) as error:
        expand_runs(load_experiment(path), "quick")
    assert str(path) in str(error.value)
