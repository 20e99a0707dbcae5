"""What mmpretrain's pretraining configs (default_scope 'mmpretrain', configs/selfsup_zoo) need on
our stack: our pretraining modules registered (``cl_dense.selfsup``: ``UnlabelledImageFolder``,
found by mmpretrain's registries through mmengine's root registries) and a numpy-2-safe
``mmcv.adjust_hue``.

mmcv 2.1.0's ``adjust_hue`` adds ``np.uint8(hue_factor * 255)`` to the hue channel, relying on
numpy 1 casting a negative shift with wrap-around; numpy 2 raises ``OverflowError`` instead, so
mmpretrain's ``ColorJitter`` (SimCLR, BYOL, SwAV, MoCo v2 views) fails for every negative hue
draw. :func:`adjust_hue` computes the same shift modulo 256 explicitly. Importing this module
installs it as ``mmcv.adjust_hue`` (the name mmpretrain calls) when the installed mmcv fails.
"""
from __future__ import annotations

from typing import Optional

import cv2
import mmcv
import mmcv.image
import numpy as np
from mmcv.image import photometric
from PIL import Image

import cl_dense.selfsup  # noqa: F401  (registers UnlabelledImageFolder and our transforms)


def shifted_hue(hue: np.ndarray, hue_factor: float) -> np.ndarray:
    """``uint8`` hue channel (a full turn = 256) rotated by ``hue_factor`` turns, with numpy 1's
    cast of the shift (truncated towards zero, then modulo 256)."""
    shift = int(hue_factor * 255) % 256
    return ((hue.astype(np.int32) + shift) % 256).astype(np.uint8)


def adjust_hue(img: np.ndarray, hue_factor: float, backend: Optional[str] = None) -> np.ndarray:
    """mmcv's ``adjust_hue`` (``img [H, W, 3]`` BGR, ``hue_factor`` in ``[-0.5, 0.5]`` turns,
    backend ``'cv2'`` or ``'pillow'``; ``None`` = mmcv's image backend) for negative factors too.

    Raises:
        ValueError: ``hue_factor`` out of range or an unknown backend.
    """
    backend = photometric.imread_backend if backend is None else backend
    if backend not in ('cv2', 'pillow'):
        raise ValueError(f"backend must be 'cv2' or 'pillow', got {backend!r}")
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f'hue_factor must be in [-0.5, 0.5], got {hue_factor}')
    if not isinstance(img, np.ndarray) or img.ndim != 3 or img.shape[2] != 3:
        raise TypeError(f'img must be an [H, W, 3] ndarray, got {getattr(img, "shape", img)!r}')
    if backend == 'pillow':
        if img.dtype != np.uint8:
            raise TypeError(f'the pillow backend needs a uint8 image, got {img.dtype}')
        hue, sat, val = Image.fromarray(img[..., ::-1], mode='RGB').convert('HSV').split()
        hue = Image.fromarray(shifted_hue(np.asarray(hue), hue_factor), 'L')
        rgb = Image.merge('HSV', (hue, sat, val)).convert('RGB')
        return np.array(rgb, dtype=img.dtype)[..., ::-1]
    hsv = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2HSV_FULL)
    hsv[..., 0] = shifted_hue(hsv[..., 0], hue_factor)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL).astype(img.dtype)


def mmcv_hue_is_broken() -> bool:
    """Whether mmcv's own ``adjust_hue`` fails on a negative factor."""
    try:
        photometric.adjust_hue(np.zeros((1, 1, 3), np.uint8), -0.1, backend='cv2')
    except OverflowError:
        return True
    return False


if mmcv_hue_is_broken():
    mmcv.adjust_hue = mmcv.image.adjust_hue = adjust_hue
