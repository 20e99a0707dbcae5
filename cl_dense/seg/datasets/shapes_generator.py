"""Procedural textured-shapes segmentation data: deterministic by seed, no download.

Each image shows 2-4 shapes on a textured background. A class is defined by its shape *and* a
texture of its own (colour comes from a class hue band with jitter), so that a small CNN can learn it
in minutes on a CPU while the task is not trivial (occlusion, overlapping hues, noise).

This module uses numpy and Pillow only; the mmseg dataset class lives in ``synthetic_shapes.py``.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = ('background', 'disc', 'square', 'triangle', 'ring')
PALETTE = [[40, 40, 40], [220, 60, 60], [60, 180, 75], [70, 110, 230], [240, 200, 40]]
# Hue centre (degrees) of each foreground class; jittered by +-25 degrees per object, so bands overlap.
_CLASS_HUE = {1: 0.0, 2: 120.0, 3: 220.0, 4: 50.0}
GENERATOR_VERSION = 1


def _hsv_to_rgb(h: float, s: float, v: float) -> np.ndarray:
    """One HSV colour (h in degrees, s and v in [0, 1]) -> RGB float array [3] in [0, 1]."""
    h = (h % 360.0) / 60.0
    c = v * s
    x = c * (1 - abs(h % 2 - 1))
    rgb = [(c, x, 0), (x, c, 0), (0, c, x), (0, x, c), (x, 0, c), (c, 0, x)][int(h) % 6]
    return np.array(rgb) + (v - c)


def _value_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Smooth noise [size, size] in [0, 1]: a random [cells, cells] grid upsampled bilinearly."""
    grid = Image.fromarray((rng.random((cells, cells)) * 255).astype(np.uint8))
    return np.asarray(grid.resize((size, size), Image.BILINEAR), dtype=np.float64) / 255.0


def _shape_mask(cls: int, yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, r: float,
                angle: float) -> np.ndarray:
    """Boolean mask [H, W] of a class's shape centred at (cy, cx) with size r and rotation angle."""
    u = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)
    v = -(xx - cx) * np.sin(angle) + (yy - cy) * np.cos(angle)
    dist = np.hypot(u, v)
    if cls == 1:  # disc
        return dist <= r
    if cls == 2:  # square
        return (np.abs(u) <= r * 0.85) & (np.abs(v) <= r * 0.85)
    if cls == 3:  # equilateral triangle: inside three half-planes
        inside = np.ones_like(u, dtype=bool)
        for k in range(3):
            theta = angle + k * 2 * np.pi / 3
            inside &= (xx - cx) * np.cos(theta) + (yy - cy) * np.sin(theta) <= r * 0.5
        return inside
    if cls == 4:  # ring
        return (dist <= r) & (dist >= r * 0.55)
    raise ValueError(f'unknown foreground class {cls}')


def _texture(cls: int, rng: np.random.Generator, yy: np.ndarray, xx: np.ndarray,
             angle: float) -> np.ndarray:
    """Intensity modulation [H, W] in about [0.5, 1] characteristic of a class."""
    u = xx * np.cos(angle) + yy * np.sin(angle)
    if cls == 1:  # smooth: almost flat
        return 0.9 + 0.1 * _value_noise(rng, xx.shape[0], 4)
    if cls == 2:  # stripes of period 4-6 px
        period = rng.uniform(4, 6)
        return 0.75 + 0.25 * np.sign(np.sin(2 * np.pi * u / period))
    if cls == 3:  # checkerboard of 3-4 px cells
        cell = int(rng.integers(3, 5))
        return np.where(((yy // cell + xx // cell) % 2) == 0, 1.0, 0.55)
    if cls == 4:  # speckle
        return 0.6 + 0.4 * rng.random(xx.shape)
    raise ValueError(f'unknown foreground class {cls}')


def render_sample(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Render one image and its label map.

    Returns:
        image: uint8 [size, size, 3] RGB.
        label: uint8 [size, size], values in ``range(len(CLASSES))``.
    """
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    bg_colour = _hsv_to_rgb(rng.uniform(0, 360), rng.uniform(0.1, 0.5), rng.uniform(0.3, 0.7))
    bg_noise = 0.6 + 0.4 * _value_noise(rng, size, int(rng.integers(3, 8)))
    image = bg_colour[None, None, :] * bg_noise[..., None]
    label = np.zeros((size, size), dtype=np.uint8)
    for _ in range(int(rng.integers(2, 5))):
        cls = int(rng.integers(1, len(CLASSES)))
        r = rng.uniform(0.12, 0.25) * size
        cy, cx = rng.uniform(r * 0.5, size - r * 0.5, size=2)
        angle = rng.uniform(0, 2 * np.pi)
        mask = _shape_mask(cls, yy, xx, cy, cx, r, angle)
        colour = _hsv_to_rgb(_CLASS_HUE[cls] + rng.uniform(-25, 25), rng.uniform(0.5, 0.9),
                             rng.uniform(0.6, 1.0))
        shaded = colour[None, None, :] * _texture(cls, rng, yy, xx, angle)[..., None]
        image[mask] = shaded[mask]
        label[mask] = cls
    image = image + rng.normal(0.0, 0.03, image.shape)
    return (np.clip(image, 0, 1) * 255).round().astype(np.uint8), label


def _split_seed(seed: int, split: str) -> int:
    return zlib.crc32(f'{seed}:{split}'.encode())


def render_split(split: str, num_images: int, size: int, seed: int):
    """Yield ``(name, image [size,size,3] uint8, label [size,size] uint8)`` for one split."""
    base = _split_seed(seed, split)
    for index in range(num_images):
        image, label = render_sample(np.random.default_rng([base, index]), size)
        yield f'{index:05d}', image, label


def ensure_split(data_root: str | os.PathLike, split: str, num_images: int, size: int,
                 seed: int) -> Path:
    """Write ``img_dir/{split}/*.png`` and ``ann_dir/{split}/*.png`` under data_root unless present.

    A ``meta.json`` in the split records the generation parameters; a split made with other
    parameters is regenerated. Writing goes to a temporary folder that is renamed into place, so
    several processes (distributed ranks) may call this at once safely.

    Returns:
        The split's meta file path.
    """
    root = Path(data_root)
    meta = dict(version=GENERATOR_VERSION, split=split, num_images=num_images, size=size, seed=seed)
    meta_path = root / 'meta' / f'{split}.json'
    if meta_path.is_file() and json.loads(meta_path.read_text()) == meta:
        return meta_path
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f'.{split}-', dir=root))
    for sub in ('img_dir', 'ann_dir'):
        (tmp / sub).mkdir()
    for name, image, label in render_split(split, num_images, size, seed):
        Image.fromarray(image).save(tmp / 'img_dir' / f'{name}.png')
        Image.fromarray(label).save(tmp / 'ann_dir' / f'{name}.png')
    for sub in ('img_dir', 'ann_dir'):
        target = root / sub / split
        target.parent.mkdir(exist_ok=True)
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.replace(tmp / sub, target)
        except OSError:  # another process put an identical split in place first
            pass
    meta_path.parent.mkdir(exist_ok=True)
    tmp_meta = tmp / 'meta.json'
    tmp_meta.write_text(json.dumps(meta))
    os.replace(tmp_meta, meta_path)
    shutil.rmtree(tmp, ignore_errors=True)
    return meta_path
