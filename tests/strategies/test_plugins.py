"""Third-party strategies through the `archsearch.strategies` entry-point group."""

import textwrap

import pytest

from archsearch.cli import main
from archsearch.errors import ConfigError
from archsearch.strategies import STRATEGIES, create_strategy, list_strategies, strategy_entries
from tests.strategies.toy import train_toy

CONNECTION_KNOBS = ["connection_optimizer", "connection_lr", "connection_decay"]

PLUGIN = '''
import torch.nn.functional as F

from archsearch.strategies import Decision, HyperParameter, PruningStrategy
from archsearch.graph import select_top


class Magnitude(PruningStrategy):
    """Keep the largest weights once, half-way through training."""

    name = "magnitude"
    hyperparameters = (HyperParameter("target", 12, "connections to keep", low=5, high=40),)

    def decide(self, neck, step):
        if step != self.total_steps // 2:
            return None
        values = F.relu(neck.weights.mean()).tolist()
        scores = dict(zip(neck.graph.connection_ids, values))
        return Decision(frozenset(select_top(neck.graph, scores, self.params["target"])))
'''


def _distribution(root, name, entry_points):
    (root / name).mkdir()
    (root / name / "__init__.py").write_text(textwrap.dedent(PLUGIN))
    info = root / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[archsearch.strategies]\n" + entry_points)


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    _distribution(tmp_path, "thirdparty", "magnitude = thirdparty:Magnitude\n")
    _distribution(tmp_path, "brokenparty", "broken = brokenparty.missing:Nothing\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    STRATEGIES.reload()
    yield
    monkeypatch.undo()
    STRATEGIES.reload()


def test_a_plugin_registers_and_runs_without_changing_archsearch(plugins):
    assert "magnitude" in list_strategies()
    origin = {e.name: e.origin for e in strategy_entries()}
    assert origin["magnitude"] == "thirdparty" and origin["ard"] == "built-in"
    runner, neck, _ = train_toy(create_strategy("magnitude"), steps=10)
    assert len(neck.graph.connection_ids) == 12 and runner.prunings == [5]
    assert len(runner.history.steps) == 11


def test_a_broken_plugin_names_itself_and_breaks_nothing_else(plugins):
    with pytest.raises(ConfigError, match="'broken' from package 'brokenparty'.*failed to import"):
        create_strategy("broken")
    assert "ard" in list_strategies() and "magnitude" in list_strategies()


def test_strategies_command_lists_origin_and_hyperparameters(plugins, capsys):
    assert main(["strategies"]) == 0
    out = capsys.readouterr().out
    assert "magnitude (thirdparty)" in out and "ard (built-in)" in out
    assert "kl_factor=" in out and "broken" in out


def test_a_subclass_inherits_the_knobs_its_bases_read():
    """A round-based plugin declares only its own knobs; the schedule's come from its base,
    after its own, and a knob declared again takes the subclass's default."""
    from archsearch.strategies.base import HyperParameter
    from archsearch.strategies.rounds import RoundsToTarget, ThresholdRounds

    class Rounds(RoundsToTarget):
        hyperparameters = (HyperParameter("rounds", 2, "fewer rounds", minimum=1),)

        def decide(self, neck, step):
            return None

    class Cut(ThresholdRounds):
        hyperparameters = (HyperParameter("scale", 1.0, "a knob of its own"),)

    rounds = Rounds(target=7).params
    assert list(rounds) == ["rounds", "target", "prune_start", *CONNECTION_KNOBS]
    assert rounds["rounds"] == 2 and rounds["target"] == 7 and rounds["prune_start"] == 0.5
    cut = Cut().params
    assert list(cut)[:2] == ["scale", "criterion"] and {"threshold", "target"} <= set(cut)
    with pytest.raises(ConfigError, match="hyper-parameter 'window'"):
        Rounds(window=0.1)


def test_a_round_strategy_without_a_decision_rule_fails_when_built():
    from archsearch.strategies.rounds import RoundsToTarget

    class Undecided(RoundsToTarget):
        pass

    with pytest.raises(TypeError, match="abstract method decide"):
        Undecided()
