"""``OverlappingViews``: GLCNet's two views of one image with their exact coordinate maps."""
from __future__ import annotations

from typing import Optional, Sequence

import torch
from mmengine.dataset import Compose
from mmengine.registry import TRANSFORMS

from .correspondence import crop_coords, dihedral


def overlapping_offset(anchor: int, size: int, extent: int, max_shift: int) -> int:
    """A random crop offset within ``max_shift`` of ``anchor`` that keeps the crop inside."""
    low, high = max(0, anchor - max_shift), min(extent - size, anchor + max_shift)
    return int(torch.randint(low, high + 1, ()))


@TRANSFORMS.register_module()
class OverlappingViews:
    """Two square crops of ``results['img'] [C, H, W]`` (uint8) that overlap, each flipped
    left-right with probability ``hflip_prob`` and turned by a random multiple of 90 degrees
    from ``quarter_turns``, then ``view_pipeline`` (photometric only, e.g. colour jitter) per view.

    Crops are never resized (resize the whole image before, e.g. with ``TorchvisionAugment``'s
    ``RandomResize``), so every view pixel is exactly one source pixel.

    Args:
        crop_size: side ``S`` of both views.
        max_shift: the second crop's offset from the first is at most ``max_shift * S`` pixels
            per axis (so they overlap on at least ``(1 - max_shift) S`` px per axis); in [0, 1).
        hflip_prob: probability of a left-right flip per view.
        quarter_turns: allowed counter-clockwise quarter turns, drawn uniformly per view.
        view_pipeline: transforms run on ``dict(img=view)`` for each view independently; they
            must keep the view's shape.

    Output: ``results['inputs'] = dict(views=uint8 [2, C, S, S], coords=int64 [2, 2, S, S])``
    (``coords[v, :, i, j]`` = source (row, col) of pixel ``(i, j)`` of view ``v``);
    ``results['img']`` is removed.
    """

    def __init__(self, crop_size: int, max_shift: float = 0.5, hflip_prob: float = 0.5,
                 quarter_turns: Sequence[int] = (0, 1, 2, 3),
                 view_pipeline: Optional[Sequence[dict]] = None) -> None:
        if crop_size < 1 or not 0 <= max_shift < 1 or not 0 <= hflip_prob <= 1:
            raise ValueError(f'need crop_size >= 1, 0 <= max_shift < 1, 0 <= hflip_prob <= 1; got '
                             f'{crop_size}, {max_shift}, {hflip_prob}')
        if not quarter_turns or any(k not in (0, 1, 2, 3) for k in quarter_turns):
            raise ValueError(f'quarter_turns must be a non-empty subset of 0..3, got '
                             f'{quarter_turns!r}')
        self.crop_size, self.max_shift, self.hflip_prob = crop_size, max_shift, hflip_prob
        self.quarter_turns = tuple(int(k) for k in quarter_turns)
        self.view_pipeline = Compose(list(view_pipeline or []))

    def __call__(self, results: dict) -> Optional[dict]:
        img = results['img']
        size = self.crop_size
        height, width = img.shape[-2:]
        if img.dim() != 3 or min(height, width) < size:
            raise ValueError(f'OverlappingViews needs a [C, H, W] image of at least {size} px per '
                             f'side (resize it first), got {tuple(img.shape)} from '
                             f'{results.get("img_path", "?")}')
        shift = int(self.max_shift * size)
        top = int(torch.randint(0, height - size + 1, ()))
        left = int(torch.randint(0, width - size + 1, ()))
        offsets = [(top, left), (overlapping_offset(top, size, height, shift),
                                 overlapping_offset(left, size, width, shift))]
        views, coords = [], []
        for top, left in offsets:
            hflip = bool(torch.rand(()) < self.hflip_prob)
            turns = self.quarter_turns[int(torch.randint(len(self.quarter_turns), ()))]
            view = dihedral(img[:, top:top + size, left:left + size], hflip, turns).contiguous()
            out = self.view_pipeline(dict(results, img=view))
            if out is None:
                return None
            out = out['img']
            if out.shape != view.shape:
                raise ValueError(f'view_pipeline changed the view shape {tuple(view.shape)} -> '
                                 f'{tuple(out.shape)}; it must be photometric only')
            views.append(out)
            coords.append(crop_coords(top, left, size, hflip, turns))
        results.pop('img')
        results['inputs'] = dict(views=torch.stack(views), coords=torch.stack(coords))
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(crop_size={self.crop_size}, max_shift={self.max_shift}, '
                f'hflip_prob={self.hflip_prob}, quarter_turns={self.quarter_turns}, '
                f'view_pipeline={self.view_pipeline})')
