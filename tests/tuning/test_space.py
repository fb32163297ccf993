"""Search spaces come from the strategies' declarations alone."""

import optuna
import pytest

from archsearch.errors import ConfigError
from archsearch.strategies import (
    HyperParameter,
    PruningStrategy,
    create_strategy,
    get_strategy,
    list_strategies,
)
from archsearch.tuning.space import check_declaration, is_integer, searched, suggest

BUILT_IN = ["ard", "fullard", "laplace", "lasso", "lottery", "taylor"]


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_pruning_method_has_valid_ranges_for_its_knobs(name):
    strategy = get_strategy(name)
    check_declaration(strategy)
    tuned = {p.name for p in searched(strategy, {})}
    assert tuned >= {"prune_start", "rounds"}
    assert "target" not in tuned  # the matched budget is the experiment's, never searched


def test_the_papers_knobs_are_searched_on_a_log_scale_where_they_span_decades():
    declared = {(s, p.name): p for s in BUILT_IN for p in get_strategy(s).hyperparameters}
    for key in [("ard", "kl_factor"), ("lasso", "lam"), ("ard", "threshold")]:
        assert declared[key].log and declared[key].high / declared[key].low >= 10
    assert is_integer(declared[("lottery", "rounds")])
    assert not is_integer(declared[("lottery", "rewind")])


def test_dense_and_random_search_only_how_their_connection_weights_train():
    for name in ("dense", "random"):
        assert {p.name for p in searched(get_strategy(name), {})} == {
            "connection_optimizer",
            "connection_lr",
        }


@pytest.mark.parametrize("name", BUILT_IN)
def test_suggestions_stay_in_range_keep_types_and_fixed_values(name):
    strategy = get_strategy(name)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    fixed = {"target": 9} if "target" in {p.name for p in strategy.hyperparameters} else {}
    for _ in range(25):
        trial = study.ask()
        params = suggest(trial, strategy, fixed)
        assert params.items() >= fixed.items() and "target" not in trial.params
        for p in searched(strategy, fixed):
            value = params[p.name]
            if p.choices is not None:
                assert value in p.choices, (p.name, value)
                continue
            assert p.low <= value <= p.high, (p.name, value)
            assert isinstance(value, int) == is_integer(p)
        create_strategy(name, **params)  # every draw is a valid configuration
        study.tell(trial, 0.0)


def test_log_scale_draws_spread_over_the_decades():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    lams = [suggest(study.ask(), get_strategy("lasso"), {"target": 9})["lam"] for _ in range(200)]
    assert sum(lam < 1e-2 for lam in lams) > 60  # uniform draws would give ~2


def _strategy(*parameters):
    return type("Knobs", (PruningStrategy,), {"name": "knobs", "hyperparameters": parameters})


@pytest.mark.parametrize(
    "parameter, message",
    [
        (HyperParameter("lam", 0.1, "", low=1.0, high=0.5), "'lam': low 1.0 is not below"),
        (HyperParameter("lam", 0.1, "", low=0.0, high=1.0, log=True), "'lam': a log range"),
        (HyperParameter("lam", 5.0, "", low=0.0, high=1.0), "'lam': default 5.0 outside"),
        (HyperParameter("lam", 0.1, "", low=0.0), "'lam': a range needs both"),
        (HyperParameter("op", "sum", "", choices=()), "'op': empty choices"),
    ],
)
def test_a_bad_declaration_names_strategy_and_parameter(parameter, message):
    with pytest.raises(ConfigError, match=f"strategy 'knobs', hyper-parameter {message}"):
        check_declaration(_strategy(parameter))


def test_choices_become_a_categorical_search():
    strategy = _strategy(HyperParameter("op", "sum", "fusion", choices=("sum", "concat")))
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    drawn = {suggest(study.ask(), strategy, {})["op"] for _ in range(20)}
    assert drawn == {"sum", "concat"}


def test_all_registered_strategies_declare_checkable_ranges():
    for name in list_strategies():
        check_declaration(get_strategy(name))


def test_the_connection_count_is_an_objective_beside_ap():
    from archsearch.reporting import RunRecord, RunSettings
    from archsearch.tuning import parse_objectives
    from archsearch.tuning.objectives import objective_values

    objectives = parse_objectives("ap,connections")
    assert [o.direction for o in objectives] == ["maximize", "minimize"]
    settings = RunSettings(strategy="ard", neck="dense", detector="faster_rcnn", data="d", seed=0)
    record = RunRecord("e", "quick", "r", settings, {"AP": 0.5}, connections=7, neck_gflops=1.2)
    assert objective_values(objectives, record, neck_ms=3.0) == [0.5, 7.0]
