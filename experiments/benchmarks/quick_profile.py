"""The CPU quick profile, measured: box AP of a dense-graph Faster R-CNN on digits-mixed
after ≤ 5 minutes of training on 2 cores, over several seeds.

For each seed: build the quick-profile detector with the dense fusion neck (P2–P6), train it
for the profile's steps, evaluate with COCOeval on the validation split. Prints each run and
the mean ± sd of AP over seeds (the noise a 0.03 AP gap must clear), and writes
``results.json`` to ``--out``.

    OMP_WAIT_POLICY=PASSIVE python -m experiments.benchmarks.quick_profile --seeds 0 1 2

Goal: AP ≥ 0.55 with ≤ 300 s of training per seed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
import yaml

from archsearch import data
from archsearch.detection.evaluate import evaluate
from archsearch.detection.profiles import QUICK, Profile, detector_from_profile
from archsearch.detection.train import Trainer


def run_seed(profile: Profile, neck: str, seed: int, scenes, out: Path) -> dict:
    """Train and evaluate one seed; returns its record."""
    train_set, val_set = scenes.train(), scenes.val()
    torch.manual_seed(seed)
    model = detector_from_profile(profile, "faster_rcnn", neck, train_set.num_classes)
    config = profile.train_config(len(train_set), seed=seed, log_every=20)
    trainer = Trainer(model, train_set, config, out_dir=out / f"seed{seed}", progress=False)
    trainer.fit()
    started = time.perf_counter()
    result = evaluate(model, val_set, batch_size=16, timing_images=20)
    return {
        "seed": seed,
        "steps": trainer.step,
        "train_seconds": round(trainer.elapsed, 1),
        "images_per_second": round(trainer.step * config.batch_size / trainer.elapsed, 1),
        "eval_seconds": round(time.perf_counter() - started, 1),
        **result.to_dict(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--neck", default="dense")
    parser.add_argument("--images", type=int, default=2000, help="digit scenes in all")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a quick-profile setting (YAML value)",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("runs/quick_profile"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    changes = {}
    for item in args.set:
        name, _, value = item.partition("=")
        loaded = yaml.safe_load(value)
        changes[name] = tuple(loaded) if isinstance(loaded, list) else loaded
    profile = QUICK.replace(**changes)
    scenes = data.cached_digit_scenes("mixed", args.images, 0, profile.min_size)
    print(f"profile {profile}")
    records = []
    for seed in args.seeds:
        record = run_seed(profile, args.neck, seed, scenes, args.out)
        records.append(record)
        box = record["metrics"]["bbox"]
        print(
            f"seed {seed}: AP {box['AP']:.3f} AP50 {box['AP50']:.3f} AP75 {box['AP75']:.3f} "
            f"APS {box['APS']:.3f} APM {box['APM']:.3f}  {record['steps']} steps in "
            f"{record['train_seconds']:.0f} s ({record['images_per_second']} images/s), "
            f"neck {record['neck_params']} params, "
            f"inference {record['timing']['median_ms']:.1f} ms",
            flush=True,
        )
    aps = [r["metrics"]["bbox"]["AP"] for r in records]
    sd = statistics.stdev(aps) if len(aps) > 1 else 0.0
    print(
        f"box AP {statistics.mean(aps):.3f} ± {sd:.3f} (sd over {len(aps)} seeds), "
        f"max train time {max(r['train_seconds'] for r in records):.0f} s"
    )
    summary = {"profile": profile.__dict__, "neck": args.neck, "runs": records}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(summary, indent=2, default=str))


if __name__ == "__main__":
    main()
