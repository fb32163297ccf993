"""Bad inputs and faults against the command line, by family: which are handled cleanly?

Clean means: exit status 2, one line on standard error, no traceback, the working folder as
it was (checksums before and after), within the time limit; for the malicious files, also
that no code ran. Each case runs `python -m archsearch` in a fresh folder that holds a
trained tiny run (``run/``), a graph, a COCO folder and an experiment file to break:

    python -m experiments.hardening                 # this checkout
    python -m experiments.hardening --repo ../old   # another checkout, for a before/after

Slow (a subprocess per case, a tiny run trained once), so not a test; `tests/test_fuzz.py`
keeps the families in the suite.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

TIMEOUT = 60
BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 10)}]\n" for a, b in zip("abcdef", "bcdefg", strict=True)
)


class Payload:
    """Unpickling this runs code: it writes the file ``marker``."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "code ran"))


def _experiment(**changes) -> str:
    config = {
        "name": "bad",
        "detectors": ["faster_rcnn"],
        "data": {"digits": {"layout": "mixed", "scenes": 20}},
        "runs": [{"strategy": "dense"}],
        "presets": {"quick": {"profile": "quick", "seeds": [0], "overrides": {"steps": 1}}},
    }
    config.update(changes)
    return json.dumps(config)  # JSON is YAML


def _preset(**overrides) -> str:
    section = {"profile": "quick", "seeds": [0], "overrides": {"steps": 1, **overrides}}
    return _experiment(presets={"quick": section})


def _run(**run) -> str:
    return _experiment(runs=[run])


def _coco(folder: Path, change: Callable[[dict], None]) -> None:
    data = json.loads((folder / "coco" / "train.json").read_text())
    change(data)
    (folder / "coco" / "train.json").write_text(json.dumps(data))


def _first_image(**values) -> Callable[[dict], None]:
    return lambda data: data["images"][0].update(values)


def _first_annotation(**values) -> Callable[[dict], None]:
    return lambda data: data["annotations"][0].update(values)


def _checkpoint(folder: Path, content: object) -> None:
    import torch

    torch.save(content, folder / "run" / "checkpoint.pt")


def _pickled(folder: Path) -> None:
    """A checkpoint that runs code when unpickled (plain pickle inside torch's zip); nothing
    is read to make it, so no checkpoint is ever unpickled here either."""
    _checkpoint(folder, {"step": 0, "model": Payload(str(folder / "code-ran"))})


# (family, name, what breaks the folder (None: nothing), the command's arguments)
CASES: list[tuple[str, str, Callable[[Path], None] | None, list[str]]] = []


def case(family: str, name: str, args: list[str], prepare=None) -> None:
    CASES.append((family, name, prepare, args))


def write(path: str, content) -> Callable[[Path], None]:
    def prepare(folder: Path) -> None:
        target = folder / path
        if callable(content):
            content(target)
        elif isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)

    return prepare


# -- graphs --------------------------------------------------------------------------------
for name, content in [
    ("a JSON list", "[1, 2]"),
    ("binary bytes", bytes(range(256))),
    ("Latin-1 text", '{"name": "caf\xe9"}'.encode("latin-1")),
    ("not JSON", "{"),
    ("no format", '{"nodes": [], "edges": []}'),
    ("empty file", ""),
]:
    case("graph", name, ["graph", "info", "g.json"], write("g.json", content))
case("graph", "a folder", ["graph", "info", "coco"])
case("graph", "a missing file", ["graph", "info", "nope.json"])
case("graph", "draw to .xyz", ["graph", "draw", "graph.json", "--out", "x.xyz"])
case("graph", "levels 3-300", ["graph", "build", "dense", "--levels", "3-300", "--out", "b.json"])
case("graph", "levels 7-3", ["graph", "build", "dense", "--levels", "7-3", "--out", "b.json"])
case("graph", "unknown builder", ["graph", "build", "nope", "--out", "b.json"])


def _duplicate_node(path: Path) -> None:
    data = json.loads((path.parent / "graph.json").read_text())
    data["nodes"].append({**data["nodes"][-1], "level": 3})
    path.write_text(json.dumps(data))


def _huge_graph(path: Path) -> None:
    data = json.loads((path.parent / "graph.json").read_text())
    data["nodes"] += [{"id": f"X{i}", "kind": "block", "level": 3} for i in range(5000)]
    path.write_text(json.dumps(data))


case("graph", "a node listed twice", ["graph", "info", "g.json"], write("g.json", _duplicate_node))
case(
    "graph",
    "5,000 blocks drawn",
    ["graph", "draw", "g.json", "--out", "g.png"],
    write("g.json", _huge_graph),
)

# -- COCO ------------------------------------------------------------------------------------
INFO = ["data", "info", "coco/train.json", "--images-dir", "coco/images"]
for name, change in [
    ("string width", _first_image(width="128")),
    ("dict image id", _first_image(id={"a": 1})),
    ("integer file_name", _first_image(file_name=7)),
    ("file_name outside the folder", _first_image(file_name="../../../../etc/hostname")),
    ("list category id", _first_annotation(category_id=[1])),
    ("bbox of three numbers", _first_annotation(bbox=[1, 2, 3])),
    ("malformed segmentation", _first_annotation(segmentation=[[1, 2]])),
    ("unknown image id", _first_annotation(image_id=10**9)),
    ("no categories", lambda data: data.pop("categories")),
]:
    case("coco", name, INFO, lambda folder, change=change: _coco(folder, change))


def _image(damage: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def prepare(folder: Path) -> None:
        data = json.loads((folder / "coco" / "train.json").read_text())
        image = folder / "coco" / "images" / data["images"][0]["file_name"]
        image.write_bytes(damage(image.read_bytes()))

    return prepare


case("coco", "0-byte PNG", INFO, _image(lambda b: b""))
case("coco", "truncated PNG", INFO, _image(lambda b: b[: len(b) // 2]))
case("coco", "a folder with no JSON", ["data", "info", "coco/images"])
case("coco", "binary JSON", ["data", "info", "g.bin"], write("g.bin", bytes(range(256))))

# -- experiment files (YAML) -----------------------------------------------------------------
RUN = ["run", "e.yaml", "--root", "runs"]
BASE_YAML = (
    "name: bad\ndata: {digits: {layout: mixed, scenes: 20}}\npresets: {quick: {profile: quick}}\n"
)
for name, content in [
    ("alias bomb under samples", f"description: &g x\n{BOMB}samples: *g\n{BASE_YAML}runs: []\n"),
    (
        "alias bomb in params",
        f"{BOMB}{BASE_YAML}runs: [{{strategy: ard, params: {{target: *g}}}}]\n",
    ),
    ("steps: ten", _preset(steps="ten")),
    ("seeds: abc", _experiment(presets={"quick": {"profile": "quick", "seeds": "abc"}})),
    ("rounds: many", _run(strategy="ard", params={"rounds": "many"})),
    ("steps: -5", _preset(steps=-5)),
    ("target: -3", _run(strategy="ard", params={"target": -3})),
    ("batch_size: 0", _preset(batch_size=0)),
    ("unknown digit layout", _experiment(data={"digits": {"layout": "nosuch"}})),
    ("an old key", _experiment(data={"digits": {"profile": "mixed"}})),
    ("prune_start 5, rounds 0, threshold -1", _run(strategy="ard", params={"prune_start": 5.0})),
    ("rounds 0", _run(strategy="ard", params={"rounds": 0})),
    ("threshold -1", _run(strategy="ard", params={"threshold": -1})),
    ("unknown key", _experiment(runz=[])),
    ("runs is a string", _experiment(runs="dense")),
    ("presets is a list", _experiment(presets=[1])),
    ("unknown strategy", _run(strategy="nope")),
    ("unknown criterion", _run(strategy="ard", params={"criterion": "median"})),
    ("negative connection_lr", _run(strategy="ard", params={"connection_lr": -0.1})),
    ("not YAML", "runs: [\n"),
    ("binary", bytes(range(256))),
]:
    case("yaml", name, RUN, write("e.yaml", content))
case("yaml", "a folder as the file", ["run", "coco", "--root", "runs"])
case("yaml", "missing file", ["run", "nope.yaml", "--root", "runs"])

# -- command-line flags ----------------------------------------------------------------------
TRAIN = ["train", "--out", "new"]
for name, extra in [
    ("--scenes 0", ["--scenes", "0"]),
    ("--base-lr nan", ["--base-lr", "nan"]),
    ("--checkpoint-every -1", ["--checkpoint-every", "-1"]),
    ("--num-workers -1", ["--num-workers", "-1"]),
    ("--set channels=abc", ["--set", "channels=abc"]),
    ("--param target=abc", ["--strategy", "ard", "--param", "target=abc"]),
    ("--set without =", ["--set", "channels"]),
    ("--steps ten", ["--steps", "ten"]),
    ("unknown neck", ["--neck", "fpnn"]),
    ("unknown detector", ["--detector", "yolo"]),
]:
    case("flags", name, TRAIN + extra)
case("flags", "eval --timing-images -5", ["eval", "run", "--timing-images", "-5"])
case("flags", "run --seeds 0", ["run", "e.yaml", "--seeds", "0"], write("e.yaml", _experiment()))
case(
    "flags", "run --workers 0", ["run", "e.yaml", "--workers", "0"], write("e.yaml", _experiment())
)
case("flags", "tune --trials 0", ["tune", "e.yaml", "--strategy", "ard", "--trials", "0"])

# -- run folders -------------------------------------------------------------------------------
case(
    "run folder", "resume with another neck", ["train", "--out", "run", "--neck", "fpn", "--resume"]
)
case("run folder", "resume an empty folder", ["train", "--out", "empty", "--resume"])
case("run folder", "eval a folder without spec", ["eval", "coco"])
case("run folder", "spec.yaml not a mapping", ["eval", "run"], write("run/spec.yaml", "[1, 2]"))
case("run folder", "spec.yaml binary", ["eval", "run"], write("run/spec.yaml", bytes(range(256))))
for name, content in [
    ("zero-byte checkpoint", b""),
    ("random checkpoint", bytes(range(256)) * 64),
]:
    case("run folder", name, ["eval", "run"], write("run/checkpoint.pt", content))
case(
    "run folder",
    "truncated checkpoint",
    ["eval", "run"],
    lambda f: (f / "run" / "checkpoint.pt").write_bytes(
        (f / "run" / "checkpoint.pt").read_bytes()[:5000]
    ),
)
case(
    "run folder", "checkpoint of other keys", ["eval", "run"], lambda f: _checkpoint(f, {"step": 1})
)

# -- studies -----------------------------------------------------------------------------------
case("study", "runs list of no study", ["runs", "list", "nosuch", "--root", "runs"])
case(
    "study",
    "0-byte database",
    ["runs", "list", "empty", "--root", "runs"],
    write("runs/empty.db", b""),
)
case(
    "study",
    "corrupt database",
    ["runs", "list", "junk", "--root", "runs"],
    write("runs/junk.db", bytes(range(256)) * 16),
)
case("study", "--storage notaurl", ["runs", "list", "x", "--storage", "notaurl"])
case("study", "report of no study", ["report", "nosuch", "--root", "runs"])
case("study", "export of no study", ["runs", "export", "nosuch", "--root", "runs", "--out", "x"])

# -- malicious files ---------------------------------------------------------------------------
case("malicious", "pickled code: eval", ["eval", "run"], _pickled)
case(
    "malicious",
    "pickled code: draw-detections",
    ["draw-detections", "run", "--out", "d.png"],
    _pickled,
)
case(
    "malicious",
    "pickled code: train --resume",
    ["train", "--out", "run", "--resume", "--steps", "2", "--set", "channels=16"],
    _pickled,
)
case(
    "malicious",
    "YAML python tag",
    RUN,
    write("e.yaml", "name: !!python/object/apply:os.system ['true']\n"),
)


def _checksums(folder: Path) -> dict[str, str]:
    def digest(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "folder"

    return {str(p.relative_to(folder)): digest(p) for p in sorted(folder.rglob("*"))}


def archsearch(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``python -m archsearch ARGS`` in ``cwd``, output captured, `TIMEOUT` seconds at most."""
    command = [sys.executable, "-m", "archsearch", *args]
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT
    )


def prepare_base(base: Path, env: dict[str, str]) -> None:
    """A trained tiny run, a graph and a COCO folder: what the cases break."""
    commands = [
        ["train", "--out", "run", "--scenes", "20", "--steps", "1", "--set", "channels=16"],
        ["graph", "build", "dense", "--out", "graph.json"],
        ["data", "make", "--scenes", "10", "--out", "coco"],
    ]
    for command in commands:
        done = archsearch(command, base, env)
        if done.returncode:
            raise SystemExit(f"preparing {command}: {done.stderr}")
    (base / "empty").mkdir()
    (base / "runs").mkdir()


def run_case(base: Path, env: dict[str, str], prepare, args: list[str]) -> str:
    """'clean' or why not."""
    folder = Path(tempfile.mkdtemp(dir=base.parent))
    shutil.copytree(base, folder, dirs_exist_ok=True)
    try:
        if prepare is not None:
            prepare(folder)
        before = _checksums(folder)
        try:
            done = archsearch(args, folder, env)
        except subprocess.TimeoutExpired:
            return f"hang (over {TIMEOUT} s)"
        err = done.stderr.strip()
        problems = []
        if (folder / "code-ran").exists():
            problems.append("CODE RAN")
        if done.returncode != 2:
            problems.append(f"exit {done.returncode}")
        if "Traceback" in err:
            problems.append("traceback")
        elif err.count("\n"):
            problems.append(f"{err.count(chr(10)) + 1} lines")
        if _checksums(folder) != before:
            problems.append("folder changed")
        return (
            "clean"
            if not problems
            else ", ".join(problems) + f" | {err.splitlines()[-1][:100] if err else ''}"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=Path("."), help="checkout to test")
    parser.add_argument("--verbose", action="store_true", help="print every case")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hardening-"))
    base = work / "base"
    base.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(args.repo.resolve()),
        "ARCHSEARCH_DATA": str(work / "data"),
        "OMP_NUM_THREADS": "1",
    }
    prepare_base(base, env)
    totals, clean = Counter(), Counter()
    for family, name, prepare, case_args in CASES:
        outcome = run_case(base, env, prepare, case_args)
        totals[family] += 1
        clean[family] += outcome == "clean"
        if outcome != "clean" or args.verbose:
            print(f"{family:10s} {name:40s} {outcome}")
    print()
    for family in totals:
        print(f"{family:10s} {clean[family]:3d} of {totals[family]:3d} clean")
    print(f"{'all':10s} {sum(clean.values()):3d} of {sum(totals.values()):3d} clean")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
