"""The embedded default data set: "digit scenes", written to disk in COCO format.

Handwritten digits composed onto photo textures (see `archsearch.data.scenes`), with
instance masks. Three layouts stand in for the paper's data sets: ``small`` (small
objects, many per image, like Uno Cards), ``mixed`` (like COCO) and ``large`` (medium and
large objects, few per image, like PlantDoc). A fourth, ``context``, is built so that the
wiring matters: small digits whose category is the colour of a large frame around them,
warm or cool, which only the deep pyramid levels see (`ContextLayout`).

Scenes are read back through `CocoDetection`, so the default data takes exactly the code path
of a real COCO-format export. Generation is seeded and deterministic (same seed, same bytes),
cached by its parameters, and atomic: it is built in a temporary sibling folder that is
renamed into place, so an interrupted run leaves nothing half-written.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

from archsearch.data.coco import CocoDetection
from archsearch.data.scenes import (
    ContextLayout,
    SceneLayout,
    Sources,
    load_sources,
    render_context_scene,
    render_scene,
)
from archsearch.errors import DataError
from archsearch.io import read_json
from archsearch.progress import progress

FORMAT = 2  # version of the generator; a cache written by another version is not reused
CATEGORIES = [{"id": digit + 1, "name": str(digit)} for digit in range(10)]
# The context layout's: a digit in a warm frame is 1, in a cool one 2.
FRAME_CATEGORIES = [{"id": 1, "name": "in a warm frame"}, {"id": 2, "name": "in a cool frame"}]

LAYOUTS = {
    "small": SceneLayout(sizes=(8, 20), objects=(4, 10)),
    "mixed": SceneLayout(sizes=(10, 64), objects=(2, 6)),
    "large": SceneLayout(sizes=(28, 80), objects=(1, 3)),
    "context": ContextLayout(sizes=(10, 18), objects=(3, 6), max_overlap=0.1),
}


def default_data_dir() -> Path:
    """Where generated data sets are cached: ``$ARCHSEARCH_DATA`` or ``./data``."""
    return Path(os.environ.get("ARCHSEARCH_DATA", "data"))


def scenes_dir(layout: str, scenes: int, seed: int, image_size: int = 128) -> Path:
    """The cache folder of one parameter set, e.g. ``data/digits-mixed-2000-s0-128``."""
    return default_data_dir() / f"digits-{layout}-{scenes}-s{seed}-{image_size}"


@dataclass(frozen=True)
class DigitScenes:
    """A generated folder: ``images/``, ``train.json``, ``val.json`` and ``manifest.json``."""

    root: Path

    @property
    def images_dir(self) -> Path:
        return self.root / "images"

    @property
    def train_json(self) -> Path:
        return self.root / "train.json"

    @property
    def val_json(self) -> Path:
        return self.root / "val.json"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    def train(self, masks: bool = False) -> CocoDetection:
        """The training split, through the same loader as any COCO export."""
        return CocoDetection(self.images_dir, self.train_json, masks)

    def val(self, masks: bool = False) -> CocoDetection:
        """The validation split; its digits come from scans no training image uses."""
        return CocoDetection(self.images_dir, self.val_json, masks)


def make_digit_scenes(
    out: str | Path,
    layout: str = "mixed",
    scenes: int = 2000,
    seed: int = 0,
    image_size: int = 128,
    val_fraction: float = 0.2,
) -> DigitScenes:
    """Generate digit scenes in COCO format under ``out``, or find them there already.

    ``scenes`` images of ``layout`` (`LAYOUTS`); the first ``round(scenes * val_fraction)``
    form the validation split, drawn from a share of the digit scans that no training image
    uses, so validation measures detection of unseen handwriting. A folder with the same
    parameters is returned as it is; one with other parameters is an error, never
    overwritten.
    """
    params = _parameters(layout, scenes, seed, image_size, val_fraction)
    made = DigitScenes(Path(out))
    if _cached(made, params):
        return made
    made.root.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=made.root.parent, prefix=f".{made.root.name}."))
    try:
        _generate(work, params)
        (work / "manifest.json").write_text(json.dumps(params, indent=1))
        work.chmod(0o755)  # mkdtemp makes it private; the data set is not
        _publish(work, made, params)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # gone after the rename, or a failed run's
    return made


def cached_digit_scenes(
    layout: str = "mixed", scenes: int = 2000, seed: int = 0, image_size: int = 128
) -> DigitScenes:
    """`make_digit_scenes` in the cache folder of its parameters (`scenes_dir`)."""
    out = scenes_dir(layout, scenes, seed, image_size)
    return make_digit_scenes(out, layout, scenes, seed, image_size)


def _parameters(
    layout: str, scenes: int, seed: int, image_size: int, val_fraction: float
) -> dict[str, Any]:
    """The manifest of a generation, checked: everything its output depends on.

    Its keys are FORMAT 2's (``profile`` is the layout, ``images`` the scenes), so that the
    caches made before the parameters were renamed stay valid.
    """
    if layout not in LAYOUTS:
        raise DataError(f"unknown digit-scene layout {layout!r}; known: {', '.join(LAYOUTS)}")
    if scenes < 2 or not 0 < round(scenes * val_fraction) < scenes:
        raise DataError(
            f"digit scenes: {scenes} scenes with val_fraction {val_fraction} leave a split empty"
        )
    if image_size < 32:
        raise DataError(f"digit scenes: image size {image_size} is below 32 pixels")
    params = {
        "format": FORMAT,
        "profile": layout,
        "images": scenes,
        "seed": seed,
        "image_size": image_size,
        "val_fraction": val_fraction,
        "scale": asdict(LAYOUTS[layout]),
    }
    return json.loads(json.dumps(params))  # as the manifest reads back: tuples become lists


def _cached(scenes: DigitScenes, params: dict[str, Any]) -> bool:
    """Whether ``scenes`` already holds these parameters; `DataError` if it holds others."""
    if scenes.manifest.is_file():
        found = read_json(scenes.manifest, DataError)
        found = found if isinstance(found, dict) else {"manifest": found}
        if found != params:
            keys = params.keys() | found.keys()
            differ = sorted(k for k in keys if params.get(k) != found.get(k))
            raise DataError(
                f"{scenes.root}: holds digit scenes of other parameters ({', '.join(differ)}); "
                "delete it or choose another folder"
            )
        return True
    if scenes.root.exists() and any(scenes.root.iterdir()):
        raise DataError(f"{scenes.root}: exists and is not a digit-scene folder")
    return False


def _publish(work: Path, scenes: DigitScenes, params: dict[str, Any]) -> None:
    """Rename ``work`` to the scenes folder; a concurrent twin that got there first is fine."""
    try:
        os.replace(work, scenes.root)  # replaces an empty folder, fails on a full one
    except OSError:
        if not _cached(scenes, params):
            raise


def _generate(root: Path, params: dict[str, Any]) -> None:
    """Render every image into ``root/images`` and write ``train.json`` and ``val.json``."""
    rng = np.random.default_rng(params["seed"])
    sources = load_sources()
    order = rng.permutation(len(sources.glyphs))
    val_glyphs = round(len(order) * params["val_fraction"])
    pools = {"val": np.sort(order[:val_glyphs]), "train": np.sort(order[val_glyphs:])}
    val_images = round(params["images"] * params["val_fraction"])
    scale = LAYOUTS[params["profile"]]
    framed = isinstance(scale, ContextLayout)
    categories = FRAME_CATEGORIES if framed else CATEGORIES
    coco = {split: {"images": [], "annotations": [], "categories": categories} for split in pools}
    numbers = itertools.count(1)  # annotation ids, unique across the splits
    (root / "images").mkdir()
    bar = progress(params["images"], "digit scenes")
    for image_id in range(params["images"]):
        split = "val" if image_id < val_images else "train"
        if framed:
            image, objects, cool = render_context_scene(
                rng, sources, pools[split], scale, params["image_size"]
            )
        else:
            image, objects = render_scene(rng, sources, pools[split], scale, params["image_size"])
        name = f"{image_id:06d}.png"
        Image.fromarray(image).save(root / "images" / name, compress_level=1)  # speed over size
        height, width = image.shape[:2]
        coco[split]["images"].append(
            {"id": image_id, "file_name": name, "width": width, "height": height}
        )
        for glyph, mask in objects:
            annotation = _annotation(next(numbers), image_id, glyph, mask, sources)
            if framed:
                annotation["category_id"] = 1 + cool
            coco[split]["annotations"].append(annotation)
        bar.update(1)
    bar.close()
    for split, data in coco.items():
        (root / f"{split}.json").write_text(json.dumps(data))


def _annotation(
    number: int, image_id: int, glyph: int, mask: np.ndarray, sources: Sources
) -> dict[str, Any]:
    """A COCO annotation of one digit: RLE mask, its tight box and area, the scan it shows."""
    rle = mask_utils.encode(np.asfortranarray(mask, dtype=np.uint8))
    rle["counts"] = rle["counts"].decode("ascii")
    return {
        "id": number,
        "image_id": image_id,
        "category_id": int(sources.digits[glyph]) + 1,
        "bbox": [float(v) for v in mask_utils.toBbox(rle)],
        "area": float(mask.sum()),
        "iscrowd": 0,
        "segmentation": rle,
        "digit_index": glyph,
    }
