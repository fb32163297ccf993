"""The embedded default data set: "digit scenes".

Real handwritten digits (scikit-learn's ``load_digits``: 1,797 scans of 8×8 pixels, shipped
inside the package, nothing downloaded) composed onto textured backgrounds (crops of the
sample photos scikit-learn ships), with instance masks from the glyph pixels. Three scale
profiles stand in for the paper's data sets: ``small`` (small objects, like Uno Cards),
``mixed`` (like COCO) and ``large`` (medium and large objects, like PlantDoc).

Scenes are written in COCO format and read back through `CocoDetection`, so the default data
takes exactly the code path of a real COCO-format data set. Generation is seeded and
deterministic, cached by its parameters, and atomic (a temporary folder renamed into place).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils
from tqdm import tqdm

from archsearch.data.coco import CocoDetection
from archsearch.errors import DataError

MASK_THRESHOLD = 0.35  # glyph intensity (0..1) above which a pixel belongs to the digit


@dataclass(frozen=True)
class ScaleProfile:
    """Object sizes (pixels, on the longer side) and objects per image."""

    sizes: tuple[int, int]
    objects: tuple[int, int]
    max_iou: float = 0.2


PROFILES = {
    "small": ScaleProfile(sizes=(8, 20), objects=(4, 10)),
    "mixed": ScaleProfile(sizes=(10, 64), objects=(2, 6)),
    "large": ScaleProfile(sizes=(28, 80), objects=(1, 3)),
}


def default_data_dir() -> Path:
    """Where generated data sets are cached: ``$ARCHSEARCH_DATA`` or ``./data``."""
    return Path(os.environ.get("ARCHSEARCH_DATA", "data"))


def scenes_dir(profile: str, images: int, seed: int, image_size: int = 128) -> Path:
    """The cache folder of one parameter set, e.g. ``data/digits-mixed-2000-s0-128``."""
    return default_data_dir() / f"digits-{profile}-{images}-s{seed}-{image_size}"


@dataclass(frozen=True)
class DigitScenes:
    """A generated folder: ``images/``, ``train.json``, ``val.json``, ``manifest.json``."""

    root: Path

    @property
    def images_dir(self) -> Path:
        return self.root / "images"

    def train(self, masks: bool = False) -> CocoDetection:
        return CocoDetection(self.images_dir, self.root / "train.json", masks)

    def val(self, masks: bool = False) -> CocoDetection:
        return CocoDetection(self.images_dir, self.root / "val.json", masks)


def make_digit_scenes(
    out: str | Path,
    profile: str = "mixed",
    images: int = 2000,
    seed: int = 0,
    image_size: int = 128,
    val_fraction: float = 0.2,
) -> DigitScenes:
    """Generate (or find cached) digit scenes in COCO format under ``out``.

    The validation images use digit scans that no training image uses. An existing folder
    with the same parameters is returned as it is; one with other parameters is an error.
    """
    if profile not in PROFILES:
        raise DataError(f"unknown digit-scene profile {profile!r}; known: {', '.join(PROFILES)}")
    out = Path(out)
    params = {
        "profile": profile,
        "images": images,
        "seed": seed,
        "image_size": image_size,
        "val_fraction": val_fraction,
        "scale": asdict(PROFILES[profile]),
        "format": 1,
    }
    params = json.loads(json.dumps(params))  # as the manifest will read back (lists)
    manifest = out / "manifest.json"
    if manifest.is_file():
        if json.loads(manifest.read_text()) != params:
            raise DataError(f"{out}: holds digit scenes of other parameters; choose another folder")
        return DigitScenes(out)
    if out.exists():
        raise DataError(f"{out}: exists and is not a digit-scene folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:
        _generate(work, params)
        (work / "manifest.json").write_text(json.dumps(params, indent=1))
        os.replace(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return DigitScenes(out)


def _generate(root: Path, params: dict) -> None:
    from sklearn.datasets import load_digits, load_sample_images

    rng = np.random.default_rng(params["seed"])
    digits = load_digits()
    glyphs, classes = digits.images / 16.0, digits.target
    order = rng.permutation(len(glyphs))
    n_val_glyphs = round(len(glyphs) * params["val_fraction"])
    pools = {"val": order[:n_val_glyphs], "train": order[n_val_glyphs:]}
    backgrounds = load_sample_images().images
    n_val = round(params["images"] * params["val_fraction"])
    splits = {"train": range(n_val, params["images"]), "val": range(n_val)}
    (root / "images").mkdir()
    scale = ScaleProfile(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in params["scale"].items()}
    )
    categories = [{"id": d + 1, "name": str(d)} for d in range(10)]
    coco = {split: {"images": [], "annotations": [], "categories": categories} for split in splits}
    annotation_id = 0
    for index in tqdm(range(params["images"]), desc="digit scenes", disable=None):
        split = "val" if index < n_val else "train"
        image, objects = _scene(rng, backgrounds, glyphs, pools[split], scale, params["image_size"])
        name = f"{index:06d}.png"
        Image.fromarray(image).save(root / "images" / name)
        size = params["image_size"]
        coco[split]["images"].append(
            {"id": index, "file_name": name, "width": size, "height": size}
        )
        for glyph_index, mask in objects:
            annotation_id += 1
            coco[split]["annotations"].append(
                _annotation(annotation_id, index, int(classes[glyph_index]) + 1, mask, glyph_index)
            )
    for split, data in coco.items():
        (root / f"{split}.json").write_text(json.dumps(data))


def _scene(rng, backgrounds, glyphs, pool, scale: ScaleProfile, size: int):
    """One image and its objects ``[(glyph index, mask)]``."""
    image = _background(rng, backgrounds, size)
    objects, boxes = [], []
    for _ in range(rng.integers(scale.objects[0], scale.objects[1] + 1)):
        glyph_index = int(rng.choice(pool))
        alpha = _glyph_alpha(rng, glyphs[glyph_index], scale)
        height, width = alpha.shape
        for _attempt in range(20):
            y, x = rng.integers(0, size - height + 1), rng.integers(0, size - width + 1)
            box = (x, y, x + width, y + height)
            if all(_iou(box, other) <= scale.max_iou for other in boxes):
                break
        else:
            continue
        region = image[y : y + height, x : x + width].astype(np.float32)
        colour = _contrasting_colour(rng, region)
        blend = alpha[..., None]
        image[y : y + height, x : x + width] = (region * (1 - blend) + colour * blend).astype(
            np.uint8
        )
        mask = np.zeros((size, size), dtype=np.uint8)
        mask[y : y + height, x : x + width] = alpha > MASK_THRESHOLD
        if mask.any():
            boxes.append(box)
            objects.append((glyph_index, mask))
    return image, objects


def _background(rng, backgrounds, size: int) -> np.ndarray:
    """A random crop of a sample photo, resized, flipped and colour-jittered, toned down."""
    photo = backgrounds[rng.integers(len(backgrounds))]
    crop = int(rng.integers(size, min(photo.shape[:2])))
    y, x = rng.integers(0, photo.shape[0] - crop + 1), rng.integers(0, photo.shape[1] - crop + 1)
    patch = Image.fromarray(photo[y : y + crop, x : x + crop]).resize((size, size), Image.BILINEAR)
    pixels = np.asarray(patch, dtype=np.float32)
    if rng.random() < 0.5:
        pixels = pixels[:, ::-1]
    pixels = pixels * rng.uniform(0.5, 1.1, size=3) * 0.8 + rng.uniform(0, 30)
    return np.clip(pixels, 0, 255).astype(np.uint8)


def _glyph_alpha(rng, glyph: np.ndarray, scale: ScaleProfile) -> np.ndarray:
    """The 8×8 scan upscaled bilinearly to a random size of the profile (aspect jittered)."""
    low, high = scale.sizes
    height = round(np.exp(rng.uniform(np.log(low), np.log(high))))
    width = max(4, round(height * rng.uniform(0.7, 1.0)))
    scan = Image.fromarray(glyph.astype(np.float32), mode="F").resize(
        (width, height), Image.BILINEAR
    )
    return np.clip(np.asarray(scan), 0.0, 1.0)


def _contrasting_colour(rng, region: np.ndarray) -> np.ndarray:
    """A colour far from the region's mean brightness, so the digit stays legible."""
    bright = region.mean() < 128
    base = rng.uniform(170, 255, size=3) if bright else rng.uniform(0, 80, size=3)
    return base.astype(np.float32)


def _iou(a, b) -> float:
    width = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def _annotation(annotation_id: int, image_id: int, category: int, mask: np.ndarray, glyph: int):
    rle = mask_utils.encode(np.asfortranarray(mask))
    rle["counts"] = rle["counts"].decode("ascii")
    x, y, w, h = (float(v) for v in mask_utils.toBbox(rle))
    return {
        "id": annotation_id,
        "image_id": image_id,
        "category_id": category,
        "bbox": [x, y, w, h],
        "area": float(mask.sum()),
        "iscrowd": 0,
        "segmentation": rle,
        "digit_index": glyph,
    }
