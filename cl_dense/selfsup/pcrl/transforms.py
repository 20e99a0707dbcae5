"""PCRL's preservational transform: one view's reconstruction target (the view before the
transformation), the transformed view and its transformation code. Registered in mmengine's root
``TRANSFORMS``; used inside a ``MultiView`` view pipeline (see configs/pcrl/)."""
from __future__ import annotations

from typing import Optional

import torch
from mmengine.registry import TRANSFORMS
from torch import Tensor

# layout of the transformation code [CODE_DIM] (float32, 0/1 entries)
CODE_FIELDS = ('flip_h', 'flip_v', 'rot0', 'rot90', 'rot180', 'rot270', 'inpaint', 'outpaint')
CODE_DIM = len(CODE_FIELDS)


def spatial_transform(img: Tensor, flip_h: bool, flip_v: bool, rot_k: int) -> Tensor:
    """Flip ``img [C, H, W]`` horizontally / vertically, then rotate it by ``rot_k`` x 90 degrees
    (counter-clockwise, ``torch.rot90`` on the last two dims)."""
    dims = [d for d, flag in ((-1, flip_h), (-2, flip_v)) if flag]
    out = img.flip(dims) if dims else img
    return torch.rot90(out, rot_k, dims=(-2, -1)) if rot_k % 4 else out


def invert_spatial_transform(img: Tensor, flip_h: bool, flip_v: bool, rot_k: int) -> Tensor:
    """The inverse of :func:`spatial_transform`: rotate back, then undo the flips."""
    out = torch.rot90(img, -rot_k, dims=(-2, -1)) if rot_k % 4 else img
    dims = [d for d, flag in ((-1, flip_h), (-2, flip_v)) if flag]
    return out.flip(dims) if dims else out


def random_box(height: int, width: int, min_frac: float, max_frac: float) -> tuple[int, ...]:
    """``(top, left, h, w)`` of a box whose sides are ``min_frac..max_frac`` of the image's."""
    fracs = torch.empty(2).uniform_(min_frac, max_frac)
    h, w = max(1, int(height * fracs[0])), max(1, int(width * fracs[1]))
    top = int(torch.randint(0, height - h + 1, ()))
    left = int(torch.randint(0, width - w + 1, ()))
    return top, left, h, w


def painting_mask(height: int, width: int, outpaint: bool, num_boxes: int,
                  min_frac: float, max_frac: float) -> Tensor:
    """``[H, W]`` bool, True where pixels are replaced: inside ``num_boxes`` random boxes
    (in-painting), or outside one random box (out-painting)."""
    mask = torch.zeros(height, width, dtype=torch.bool)
    for _ in range(1 if outpaint else num_boxes):
        top, left, h, w = random_box(height, width, min_frac, max_frac)
        mask[top:top + h, left:left + w] = True
    return ~mask if outpaint else mask


@TRANSFORMS.register_module()
class PCRLTransform:
    """Random flips, 90-degree rotation and in-/out-painting of ``results['img']`` (uint8
    ``[C, S, S]``, square when ``rotate``); the untransformed image is the reconstruction target.

    Writes ``results['target']`` (the input image, uint8 ``[C, S, S]``), ``results['img']`` (the
    transformed image), ``results['code'] [CODE_DIM]`` (float32: ``flip_h, flip_v``, one-hot
    rotation ``rot0..rot270``, ``inpaint, outpaint``; see :data:`CODE_FIELDS`) and
    ``results['paint_mask'] [S, S]`` (bool, the replaced pixels). Order: flips, rotation, then
    painting; replaced pixels get uniform random values in 0..255 (our choice).

    Args:
        flip_prob: probability of each flip.
        rotate: draw the rotation uniformly from 0/90/180/270 degrees (else never rotate).
        paint_prob: probability of painting; in- and out-painting are then equally likely.
        num_inpaint_boxes: boxes per in-painting; box sides are ``box_frac`` of the image sides
            (out-painting keeps one box of ``outpaint_frac``).
    """

    def __init__(self, flip_prob: float = 0.5, rotate: bool = True, paint_prob: float = 0.8,
                 num_inpaint_boxes: int = 3, box_frac: tuple[float, float] = (0.1, 0.3),
                 outpaint_frac: tuple[float, float] = (0.4, 0.7)) -> None:
        for name, value in (('flip_prob', flip_prob), ('paint_prob', paint_prob)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f'{name} must be in [0, 1], got {value}')
        for name, (low, high) in (('box_frac', box_frac), ('outpaint_frac', outpaint_frac)):
            if not 0.0 < low <= high <= 1.0:
                raise ValueError(f'{name} must be (low, high) with 0 < low <= high <= 1, got '
                                 f'{(low, high)}')
        if num_inpaint_boxes < 1:
            raise ValueError(f'num_inpaint_boxes must be >= 1, got {num_inpaint_boxes}')
        self.flip_prob, self.rotate, self.paint_prob = flip_prob, rotate, paint_prob
        self.num_inpaint_boxes = num_inpaint_boxes
        self.box_frac, self.outpaint_frac = tuple(box_frac), tuple(outpaint_frac)

    def __call__(self, results: dict) -> Optional[dict]:
        img = results['img']
        if img.dim() != 3 or img.dtype != torch.uint8:
            raise ValueError(f'PCRLTransform needs a uint8 [C, H, W] image, got {img.dtype} '
                             f'{tuple(img.shape)}')
        height, width = img.shape[1:]
        if self.rotate and height != width:
            raise ValueError(f'PCRLTransform rotates by 90 degrees and needs a square image, got '
                             f'{height}x{width}; crop to a square first or set rotate=False')
        flip_h, flip_v = (bool(u < self.flip_prob) for u in torch.rand(2))
        rot_k = int(torch.randint(0, 4, ())) if self.rotate else 0
        out = spatial_transform(img, flip_h, flip_v, rot_k)
        paint, outpaint = bool(torch.rand(()) < self.paint_prob), bool(torch.rand(()) < 0.5)
        mask = torch.zeros(height, width, dtype=torch.bool)
        if paint:
            frac = self.outpaint_frac if outpaint else self.box_frac
            mask = painting_mask(height, width, outpaint, self.num_inpaint_boxes, *frac)
            noise = torch.randint(0, 256, out.shape, dtype=torch.uint8)
            out = torch.where(mask, noise, out)
        code = torch.zeros(CODE_DIM)
        code[0], code[1], code[2 + rot_k] = float(flip_h), float(flip_v), 1.0
        code[6], code[7] = float(paint and not outpaint), float(paint and outpaint)
        results.update(target=img.clone(), img=out.contiguous(), code=code, paint_mask=mask)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(flip_prob={self.flip_prob}, rotate={self.rotate}, '
                f'paint_prob={self.paint_prob}, num_inpaint_boxes={self.num_inpaint_boxes}, '
                f'box_frac={self.box_frac}, outpaint_frac={self.outpaint_frac})')
