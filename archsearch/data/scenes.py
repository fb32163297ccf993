"""Rendering one digit scene: a textured background, digit glyphs on it, and their masks.

The glyphs are real handwriting (scikit-learn's ``load_digits``: 1,797 scans of 8×8 pixels)
and the backgrounds are crops of the two sample photos scikit-learn ships, so nothing is
downloaded. A mask holds exactly the pixels where its digit is visible: the glyph's strong
strokes, less whatever a digit painted later covers.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

# Scan intensities (0..1, after upscaling) mapped to transparent .. opaque. Below the ramp the
# faint fringe of a scan would tint a rectangle around the digit, a cue real objects lack.
ALPHA_RAMP = (0.25, 0.55)
MASK_ALPHA = 0.5  # a pixel belongs to the digit where the glyph colour makes up half of it
PLACEMENT_TRIES = 20  # positions tried per object before the scene goes without it
# A context frame's hue (HSV, 0..1): red to orange, or blue; far apart, so a frame's
# category is plain to whatever sees the frame.
WARM_HUES = (-0.05, 0.08)
COOL_HUES = (0.55, 0.68)


@dataclass(frozen=True)
class SceneLayout:
    """How big and how many objects are, defined on ``image_size`` pixel images.

    ``sizes``: range of a glyph's height in pixels (sampled log-uniformly, so each octave
    gets its share); ``objects``: range of objects per image; ``max_overlap``: the largest
    fraction of one object's box that another may cover (an upper bound on their IoU, and it
    also keeps a small digit from hiding inside a large one). Other image sizes scale the
    object sizes with them, so a profile keeps its character at any resolution.
    """

    sizes: tuple[int, int]
    objects: tuple[int, int]
    max_overlap: float = 0.3
    image_size: int = 128

    def sizes_at(self, image_size: int) -> tuple[float, float]:
        """The glyph height range on images of ``image_size`` pixels."""
        factor = image_size / self.image_size
        return self.sizes[0] * factor, self.sizes[1] * factor


@dataclass(frozen=True)
class ContextLayout(SceneLayout):
    """Small digits whose category is the colour of a large frame around them: warm or cool.

    Each scene holds one outline frame, a circle or a square ``frames`` pixels across and
    a band ``widths`` pixels wide (on ``image_size`` images), its hue red to orange (warm)
    or blue (cool), and ``objects`` small digits in the square inscribed in the circle
    ``margin`` pixels inside the frame (the same region for both shapes). Every digit then
    lies at least ``margin`` from the frame, beyond what the lowest backbone level and its
    neck block see around a small box, while the deeper levels see the frame whole. Every
    box of these sizes is pooled from the finest level, so a neck that brings no deep level
    to it cannot tell the frame, and its detector can only guess the category. The
    category is the frame's alone (a digit is just the object), so that the budget goes to
    the context rather than to telling ten digits apart. Thin frames (the shape as the cue,
    then the colour of a 3–6 px stroke 20 px away) taught no neck the frame in the quick
    budget; a wide band nearer by does (``reports/FINDINGS.md`` has every design and what
    it gave).
    """

    frames: tuple[int, int] = (104, 124)
    widths: tuple[int, int] = (8, 12)
    margin: int = 14


@dataclass(frozen=True)
class Sources:
    """What scenes are made of: glyphs (``[n, 8, 8]`` in 0..1), their digits, photos."""

    glyphs: np.ndarray
    digits: np.ndarray
    photos: tuple[np.ndarray, ...]


def load_sources() -> Sources:
    """The scans and photos bundled with scikit-learn (imported here: it is slow to load)."""
    from sklearn.datasets import load_digits, load_sample_images

    scans = load_digits()
    photos = tuple(load_sample_images().images)
    return Sources(scans.images / 16.0, scans.target.astype(np.int64), photos)


def render_scene(
    rng: np.random.Generator, sources: Sources, pool: np.ndarray, scale: SceneLayout, size: int
) -> tuple[np.ndarray, list[tuple[int, np.ndarray]]]:
    """One ``size``² RGB image and its objects ``[(glyph index, boolean mask)]``.

    Glyphs are drawn from ``pool`` (indices into ``sources.glyphs``), so the caller decides
    which scans a split may use.
    """
    image = _background(rng, sources.photos, size)
    return image, _paint_digits(rng, image, sources, pool, scale, size, (0, 0, size))


def render_context_scene(
    rng: np.random.Generator,
    sources: Sources,
    pool: np.ndarray,
    scale: ContextLayout,
    size: int,
) -> tuple[np.ndarray, list[tuple[int, np.ndarray]], bool]:
    """One `ContextLayout` scene: the image, its digits as in `render_scene`, and whether
    their frame is cool (else warm)."""
    image = _background(rng, sources.photos, size)
    factor = size / scale.image_size
    side = int(rng.integers(scale.frames[0], scale.frames[1] + 1) * factor)
    side = min(side, size - 2)
    left, top = (int(rng.integers(0, size - side + 1)) for _ in range(2))
    cool = bool(rng.random() < 0.5)
    hue = rng.uniform(*COOL_HUES) if cool else rng.uniform(*WARM_HUES) % 1.0
    colour = colorsys.hsv_to_rgb(hue, rng.uniform(0.8, 1.0), rng.uniform(0.8, 1.0))
    width = max(1, round(rng.uniform(*scale.widths) * factor))
    canvas = Image.fromarray(image)
    draw = ImageDraw.Draw(canvas)
    box = (left, top, left + side - 1, top + side - 1)
    outline = tuple(round(255 * c) for c in colour)
    if rng.random() < 0.5:
        draw.ellipse(box, outline=outline, width=width)
    else:
        draw.rectangle(box, outline=outline, width=width)
    image = np.array(canvas)
    inner = int(np.sqrt(2) * (side / 2 - width - scale.margin * factor))
    region = (top + (side - inner) // 2, left + (side - inner) // 2, inner)
    return image, _paint_digits(rng, image, sources, pool, scale, size, region), cool


def _paint_digits(
    rng: np.random.Generator,
    image: np.ndarray,
    sources: Sources,
    pool: np.ndarray,
    scale: SceneLayout,
    size: int,
    region: tuple[int, int, int],
) -> list[tuple[int, np.ndarray]]:
    """Digits from ``pool`` painted into the square ``region`` (top, left, side) of the
    ``size``² ``image``; returns the visible ones as ``[(glyph index, boolean mask)]``."""
    top, left, side = region
    objects: list[tuple[int, np.ndarray]] = []
    boxes: list[tuple[int, int, int, int]] = []
    for _ in range(rng.integers(scale.objects[0], scale.objects[1] + 1)):
        glyph_index = int(rng.choice(pool))
        alpha = _glyph_alpha(rng, sources.glyphs[glyph_index], scale.sizes_at(size), side)
        placed = _place(rng, alpha >= MASK_ALPHA, boxes, scale.max_overlap, side)
        if placed is None:
            continue
        (y, x), box = placed
        mask = _paint(rng, image, alpha, top + y, left + x)
        for _, earlier in objects:  # the new digit is on top: it hides what it covers
            earlier &= ~mask
        boxes.append(box)
        objects.append((glyph_index, mask))
    return [(index, mask) for index, mask in objects if mask.any()]


def _background(rng: np.random.Generator, photos: tuple[np.ndarray, ...], size: int) -> np.ndarray:
    """A random crop of a sample photo, resized, maybe flipped, colour-jittered, toned down."""
    photo = photos[rng.integers(len(photos))]
    crop = int(rng.integers(min(size, min(photo.shape[:2])), min(photo.shape[:2]) + 1))
    y, x = rng.integers(0, photo.shape[0] - crop + 1), rng.integers(0, photo.shape[1] - crop + 1)
    patch = Image.fromarray(photo[y : y + crop, x : x + crop]).resize((size, size), Image.BILINEAR)
    pixels = np.asarray(patch, dtype=np.float32)
    if rng.random() < 0.5:
        pixels = pixels[:, ::-1]
    pixels = pixels * rng.uniform(0.5, 1.1, size=3) * 0.8 + rng.uniform(0, 30)
    return np.clip(pixels, 0, 255).astype(np.uint8)


def _glyph_alpha(
    rng: np.random.Generator, scan: np.ndarray, sizes: tuple[float, float], size: int
) -> np.ndarray:
    """The scan upscaled bilinearly to a random height in ``sizes`` (width jittered).

    The scan is padded by a blank pixel first so strokes touching its border fade out
    instead of ending in a straight cut.
    """
    low, high = sizes
    height = float(np.exp(rng.uniform(np.log(low), np.log(high))))
    width = height * rng.uniform(0.7, 1.0)
    padded = np.pad(scan.astype(np.float32), 1)
    shape = [min(size, max(3, round(side * 10 / 8))) for side in (width, height)]
    upscaled = np.asarray(Image.fromarray(padded, mode="F").resize(shape, Image.BILINEAR))
    low_alpha, high_alpha = ALPHA_RAMP
    return np.clip((upscaled - low_alpha) / (high_alpha - low_alpha), 0.0, 1.0)


def _place(
    rng: np.random.Generator,
    strokes: np.ndarray,
    boxes: list[tuple[int, int, int, int]],
    max_overlap: float,
    size: int,
) -> tuple[tuple[int, int], tuple[int, int, int, int]] | None:
    """A corner ``(y, x)`` and the tight box there, overlapping ``boxes`` little enough."""
    rows, cols = np.nonzero(strokes)
    if not len(rows):
        return None
    height, width = strokes.shape
    for _ in range(PLACEMENT_TRIES):
        y, x = int(rng.integers(0, size - height + 1)), int(rng.integers(0, size - width + 1))
        box = (x + cols.min(), y + rows.min(), x + cols.max() + 1, y + rows.max() + 1)
        if all(_coverage(box, other) <= max_overlap for other in boxes):
            return (y, x), box
    return None


def _paint(
    rng: np.random.Generator, image: np.ndarray, alpha: np.ndarray, y: int, x: int
) -> np.ndarray:
    """Blend the glyph into ``image`` at ``(y, x)``; returns the digit's full-image mask.

    The colour is bright on dark ground and dark on bright ground, so the digit stays legible.
    """
    height, width = alpha.shape
    region = image[y : y + height, x : x + width].astype(np.float32)
    dark_ground = region.mean() < 128
    colour = rng.uniform(170, 255, size=3) if dark_ground else rng.uniform(0, 80, size=3)
    blend = alpha[..., None]
    image[y : y + height, x : x + width] = np.rint(region * (1 - blend) + colour * blend)
    mask = np.zeros(image.shape[:2], dtype=bool)
    mask[y : y + height, x : x + width] = alpha >= MASK_ALPHA
    return mask


def _coverage(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """The fraction of the smaller of two xyxy boxes that their intersection covers."""
    width = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return width * height / smaller
