"""How much of a `context` run's AP comes from telling the frame apart.

On the context digit scenes a category is a digit and its frame's shape. Three scores of one
trained run, on its validation split, by pycocotools:

* as is: the run's box AP over the 20 categories;
* frame ignored: detections and annotations merged to their digit (10 categories), the AP a
  detector would have if the frame were given;
* frame blind: each detection split into both frames' categories at half its score, the AP
  of a detector that finds the digits as this one does but cannot tell the frame.

A neck that uses the frame scores above its frame-blind level; one that cannot, at it:

    python -m experiments.analysis.frame_scores runs/<study>/<run id> [...]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
from pathlib import Path

from pycocotools.coco import COCO

from archsearch.cli.train import load_run
from archsearch.data.digits import CATEGORIES, FRAMED_CATEGORIES
from archsearch.detection.evaluate import coco_metrics, predict

DIGITS = len(CATEGORIES)
FRAMES = len(FRAMED_CATEGORIES) // DIGITS


def digit_of(category_id: int) -> int:
    """The digit category (1..10) of a framed category (1..20)."""
    return (category_id - 1) % DIGITS + 1


def frame_ignored(coco: COCO) -> COCO:
    """``coco`` with every annotation's category merged to its digit."""
    data = copy.deepcopy(coco.dataset)
    for annotation in data["annotations"]:
        annotation["category_id"] = digit_of(annotation["category_id"])
    data["categories"] = CATEGORIES
    merged = COCO()
    merged.dataset = data
    with contextlib.redirect_stdout(io.StringIO()):
        merged.createIndex()
    return merged


def frame_scores(coco: COCO, results: list[dict]) -> dict[str, float]:
    """Box AP as is, with the frame ignored, and frame blind (see the module docstring)."""
    ignored = [{**r, "category_id": digit_of(r["category_id"])} for r in results]
    blind = [
        {**r, "category_id": digit_of(r["category_id"]) + DIGITS * frame, "score": r["score"] / 2}
        for r in results
        for frame in range(FRAMES)
    ]
    return {
        "as_is": coco_metrics(coco, results)["AP"],
        "frame_ignored": coco_metrics(frame_ignored(coco), ignored)["AP"],
        "frame_blind": coco_metrics(coco, blind)["AP"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders on the context scenes")
    for run_dir in parser.parse_args().runs:
        _, model, val_set, _ = load_run(run_dir)
        found = frame_scores(val_set.coco, predict(model, val_set))
        print(
            f"{run_dir.name}: AP {found['as_is']:.4f}  frame ignored "
            f"{found['frame_ignored']:.4f}  frame blind {found['frame_blind']:.4f}"
        )


if __name__ == "__main__":
    main()
