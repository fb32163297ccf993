"""Experiment files: YAML in, checked `RunSpec`s out, every error naming the file and key.

An experiment names its data, detectors, the runs (neck × strategy, with hyper-parameters)
and its presets (``demo``, ``quick``, ``paper``), one section each: the training profile
(`archsearch.detection.profiles`), its overrides, the number of digit scenes, the seeds and,
where they differ, its own data or detectors. Files written before the keys were
renamed fail with one line naming the new key (`RENAMED_KEYS`). ``samples: K`` also scores
each run's K sampled fusion networks (Table 2's decoders, `archsearch.uncertainty`). This
module is the one place where configuration becomes objects; nothing deeper in the library
reads YAML.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from archsearch.data.sources import digit_settings
from archsearch.errors import ArchsearchError, ConfigError
from archsearch.graph import FusionGraph, build_graph, smallest_neck
from archsearch.io import read_yaml

# The keys of each section of an experiment file and the types of their values; a key that
# `REQUIRED` names may not be null, the others may (null: the default).
TOP_KEYS = {
    "name": str,
    "description": str,
    "detectors": list,
    "data": dict,
    "runs": list,
    "presets": dict,
    "samples": int,
}
RUN_KEYS = {"neck": str, "strategy": str, "params": dict, "data": dict}
PRESET_KEYS = {
    "profile": str,
    "overrides": dict,
    "scenes": int,
    "seeds": list,
    "data": dict,
    "detectors": list,
}
DATA_KEYS = {"digits": (str, dict), "coco": dict}
REQUIRED = ("name", "runs", "presets", "data")
# Keys of experiment files before issue 22 gave each idea one name: where -> old -> new.
RENAMED_KEYS = {
    "top": {"profiles": "presets"},
    "preset": {"train": "profile", "images": "scenes"},
}


@dataclass(frozen=True)
class RunSpec:
    """One training run: everything that determines its result.

    ``preset`` is the experiment file's section it comes from, ``profile`` the training
    profile (`archsearch.detection.profiles`) that ``overrides`` change, ``scenes`` the
    number of digit scenes when the preset sets it (else the data's own).
    """

    experiment: str
    preset: str
    detector: str
    neck: str
    strategy: str
    seed: int
    profile: str
    data: dict[str, Any]
    scenes: int | None
    params: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)
    samples: int = 0

    @property
    def id(self) -> str:
        """Readable and unique: settings in the name, a digest of the hyper-parameters."""
        digest = ""
        if self.params:
            blob = json.dumps(self.params, sort_keys=True).encode()
            digest = "-" + hashlib.sha1(blob).hexdigest()[:6]
        return f"{self.detector}-{self.neck}-{self.strategy}{digest}-{self.data_name}-s{self.seed}"

    @property
    def data_name(self) -> str:
        """``digits-mixed`` for digit scenes, the annotation folder's name for COCO files."""
        if "coco" in self.data:
            return str(Path(self.data["coco"]["train"]).parent.name)
        return f"digits-{digit_settings(self.data['digits'])['layout']}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def twin(self) -> RunSpec | None:
        """The run this one starts as (its strategy's `twin`), or None.

        Its hyper-parameters are those that differ from the twin strategy's defaults, so
        that it is the run an experiment file lists without them.
        """
        from archsearch.strategies import create_strategy

        twin = create_strategy(self.strategy, **self.params).twin()
        if twin is None:
            return None
        name, params = twin
        defaults = create_strategy(name).params
        given = {key: value for key, value in params.items() if value != defaults[key]}
        return replace(self, strategy=name, params=given)


def load_experiment(path: str | Path) -> dict[str, Any]:
    """The parsed experiment file, its keys checked."""
    path = Path(path)
    config = read_yaml(path)
    _check_renamed(config, "top", f"{path}")
    _check_keys(config, TOP_KEYS, f"{path}")
    for key in REQUIRED:
        if config.get(key) is None:
            raise ConfigError(f"{path}: missing key {key!r}")
    for key in ("detectors", "runs"):
        items = config.get(key) or []
        kind = str if key == "detectors" else dict
        if not all(isinstance(item, kind) for item in items):
            raise ConfigError(f"{path}: every item of {key!r} must be a {_name(kind)}")
    config["_path"] = str(path)
    return config


def expand_runs(config: dict[str, Any], preset: str, seeds: int | None = None) -> list[RunSpec]:
    """The runs of ``preset``, checked against the registries before any training."""
    path = config["_path"]
    if not isinstance(preset, str) or preset not in config["presets"]:
        known = ", ".join(config["presets"])
        raise ConfigError(f"{path}: no preset {preset!r}; known: {known}")
    section = config["presets"][preset]
    where = f"{path}: presets.{preset}"
    _check_renamed(section, "preset", where)
    _check_keys(section, PRESET_KEYS, where)
    data = section.get("data") or config["data"]
    _check_keys(data, DATA_KEYS, f"{where}.data" if "data" in section else f"{path}: data")
    seed_list = list(range(seeds)) if seeds is not None else section.get("seeds", [0])
    if not isinstance(seed_list, list) or not all(
        isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seed_list
    ):
        raise ConfigError(f"{where}.seeds: {seed_list!r:.40} is not a list of whole numbers >= 0")
    detectors = section.get("detectors") or config.get("detectors") or ["faster_rcnn"]
    if not all(isinstance(d, str) for d in detectors):
        raise ConfigError(f"{where}.detectors: every item must be a string")
    runs = []
    for index, run in enumerate(config["runs"]):
        run_where = f"{path}: runs[{index}]"
        _check_keys(run, RUN_KEYS, run_where)
        run_data = run.get("data") or data
        _check_keys(run_data, DATA_KEYS, f"{run_where}.data")
        for detector in detectors:
            for seed in seed_list:
                spec = RunSpec(
                    experiment=config["name"],
                    preset=preset,
                    detector=detector,
                    neck=run.get("neck") or "dense",
                    strategy=run.get("strategy") or "dense",
                    seed=seed,
                    profile=section.get("profile") or preset,
                    data=dict(run_data),
                    scenes=section.get("scenes"),
                    params=dict(run.get("params") or {}),
                    overrides=dict(section.get("overrides") or {}),
                    samples=_samples(config),
                )
                check_run(spec, run_where)
                runs.append(spec)
    return runs


def _samples(config: dict[str, Any]) -> int:
    samples = config.get("samples", 0)
    if not isinstance(samples, int) or isinstance(samples, bool) or samples < 0:
        raise ConfigError(f"{config['_path']}: samples must be a count (0: off), got {samples!r}")
    return samples


def _check_renamed(mapping: Any, kind: str, where: str) -> None:
    """One line naming the new key of a key an older experiment file uses."""
    if not isinstance(mapping, dict):
        return  # `_check_keys` says what is wrong
    for old, new in RENAMED_KEYS[kind].items():
        if old in mapping:
            raise ConfigError(f"{where}: key {old!r} is now called {new!r}")


def _check_keys(mapping: Any, schema: dict[str, Any], where: str) -> None:
    """``mapping`` is a mapping of ``schema``'s keys, each value of its type or null."""
    if not isinstance(mapping, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(mapping).__name__}")
    unknown = sorted(str(k) for k in mapping if k not in schema and not str(k).startswith("_"))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; allowed: {sorted(schema)}")
    for key, kind in schema.items():
        value = mapping.get(key)
        wrong = isinstance(value, bool) and kind is int
        if value is not None and (wrong or not isinstance(value, kind)):
            raise ConfigError(f"{where}: {key!r} must be a {_name(kind)}, got {value!r:.40}")


def _name(kind: Any) -> str:
    names = {str: "string", dict: "mapping", list: "list", int: "whole number"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names[k] for k in kinds)


def check_run(run: RunSpec, where: str) -> None:
    """Names and hyper-parameters known, a data path that exists: before any training."""
    from archsearch.data.sources import check_digits
    from archsearch.detection.models import DETECTORS
    from archsearch.detection.profiles import get_profile
    from archsearch.neck import list_necks
    from archsearch.neck.catalog import neck_kind
    from archsearch.strategies import create_strategy
    from archsearch.uncertainty.sampling import variational_strategies

    try:
        if run.detector not in DETECTORS:
            raise ConfigError(f"unknown detector {run.detector!r}; known: {', '.join(DETECTORS)}")
        if run.neck not in list_necks():
            raise ConfigError(f"unknown neck {run.neck!r}; known: {', '.join(list_necks())}")
        create_strategy(run.strategy, **run.params)
        if run.strategy != "dense" and neck_kind(run.neck) != "graph":
            raise ConfigError(f"neck {run.neck!r} is no graph: only strategy 'dense' applies")
        profile = get_profile(run.profile).replace(**run.overrides)
        if run.params.get("target") is not None:
            _check_target(run.params["target"], build_graph(run.neck, profile.levels))
        if "digits" in run.data:
            check_digits(run.data, run.scenes)
        if run.samples and run.strategy not in variational_strategies():
            known = ", ".join(variational_strategies())
            raise ConfigError(
                f"samples: strategy {run.strategy!r} has deterministic weights, no distribution "
                f"to sample; use a variational one ({known})"
            )
    except ArchsearchError as error:
        raise ConfigError(f"{where}: {error}") from error
    coco = run.data.get("coco")
    if coco is not None:
        optional = [key for key in ("val_images",) if key in coco]
        for key in ("images", "train", "val", *optional):
            if key not in coco or not Path(coco[key]).exists():
                raise ConfigError(f"{where}: data.coco.{key} {coco.get(key)!r} does not exist")


def _check_target(target: int, graph: FusionGraph) -> None:
    """A target the graph can meet: no more connections than it has, no fewer than its
    smallest valid neck (below it, selection would quietly keep more than asked)."""
    low, high = smallest_neck(graph), len(graph.connection_ids)
    if not low <= target <= high:
        raise ConfigError(
            f"target {target} is outside what graph {graph.name!r} allows: {low} to {high} "
            f"connections"
        )
