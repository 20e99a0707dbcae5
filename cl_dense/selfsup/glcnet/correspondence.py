"""Exact pixel correspondences between two views cut from one image (crop, flip, quarter turns),
and their matched cells at feature resolution. Pure tensor maths.

A view's *coordinate map* ``coords [2, S, S]`` (int64) holds, for every view pixel, the (row, col)
of the source-image pixel it shows. Crops are square and never resized, so each view pixel is
exactly one source pixel and matches are exact.
"""
from __future__ import annotations

import torch
from torch import Tensor


def dihedral(x: Tensor, hflip: bool, quarter_turns: int) -> Tensor:
    """``x [..., S, S]`` flipped left-right (if ``hflip``), then rotated ``quarter_turns`` times
    by 90 degrees counter-clockwise (``torch.rot90`` on the last two dims)."""
    if hflip:
        x = x.flip(-1)
    return torch.rot90(x, quarter_turns % 4, dims=(-2, -1))


def crop_coords(top: int, left: int, size: int, hflip: bool, quarter_turns: int) -> Tensor:
    """Coordinate map ``[2, size, size]`` of the crop at ``(top, left)`` after :func:`dihedral`."""
    rows = torch.arange(top, top + size).view(size, 1).expand(size, size)
    cols = torch.arange(left, left + size).view(1, size).expand(size, size)
    return dihedral(torch.stack([rows, cols]), hflip, quarter_turns).contiguous()


def pixel_to_cell(pixels: Tensor, view_size: int, feat_size: int) -> Tensor:
    """Feature cell (``floor(p * h / S)``) holding view pixel ``p`` of a ``S`` px view whose
    feature map has ``h`` cells along that axis."""
    return torch.div(pixels * feat_size, view_size, rounding_mode='floor')


def cell_centres(view_size: int, feat_size: int) -> Tensor:
    """Pixel at the centre of each of the ``h`` cells: ``floor((i + 0.5) S / h)``, ``[h]``."""
    return torch.div((2 * torch.arange(feat_size) + 1) * view_size, 2 * feat_size,
                     rounding_mode='floor')


def check_coords(coords_a: Tensor, coords_b: Tensor) -> None:
    """Both maps ``[B, 2, S, S]`` integer with the same shape."""
    if (coords_a.dim() != 4 or coords_a.shape[1] != 2 or coords_a.shape != coords_b.shape
            or coords_a.shape[2] != coords_a.shape[3]):
        raise ValueError(f'coordinate maps must both be [B, 2, S, S], got {tuple(coords_a.shape)} '
                         f'and {tuple(coords_b.shape)}')
    if coords_a.is_floating_point() or coords_b.is_floating_point():
        raise ValueError('coordinate maps must be integer (exact source pixels)')


def match_cells(coords_a: Tensor, coords_b: Tensor, feat_size: int,
                window: int = 1) -> tuple[Tensor, Tensor]:
    """For every feature cell of view a, the cell of view b showing the same source pixel as
    a's cell centre.

    Args:
        coords_a, coords_b: coordinate maps ``[B, 2, S, S]`` of the two views of each sample.
        feat_size: ``h``, the side of both views' (square) feature maps.
        window: side of the pooling window; a cell is valid only when the ``window x window``
            cells around it fit inside the map in both views.

    Returns:
        ``cells_b [B, h, h, 2]`` int64 (row, col in b; -1 without a match) and
        ``valid [B, h, h]`` bool (a match exists and both windows fit).
    """
    check_coords(coords_a, coords_b)
    batch, _, size, _ = coords_a.shape
    centres = cell_centres(size, feat_size).to(coords_a.device)
    src = coords_a[:, :, centres][:, :, :, centres]                      # [B, 2, h, h]
    # inverse of b's map: a table over b's source bounding box holding b's flat pixel index
    origin = coords_b.amin(dim=(2, 3), keepdim=True)                      # [B, 2, 1, 1]
    rel_b = coords_b - origin
    extent = rel_b.amax(dim=(0, 2, 3)) + 1                                # [2]
    ext_r, ext_c = int(extent[0]), int(extent[1])
    table = coords_b.new_full((batch, ext_r * ext_c), -1)
    flat_b = (rel_b[:, 0] * ext_c + rel_b[:, 1]).flatten(1)
    table.scatter_(1, flat_b, torch.arange(size * size, device=coords_b.device).expand(batch, -1))
    rel = src - origin
    inside = ((rel >= 0) & (rel < extent.view(1, 2, 1, 1))).all(dim=1)     # [B, h, h]
    lookup = torch.where(inside, rel[:, 0] * ext_c + rel[:, 1], torch.zeros_like(rel[:, 0]))
    pixel_b = torch.gather(table, 1, lookup.flatten(1)).view(batch, feat_size, feat_size)
    found = inside & (pixel_b >= 0)
    cells_b = torch.stack([pixel_to_cell(pixel_b.div(size, rounding_mode='floor'), size,
                                         feat_size),
                           pixel_to_cell(pixel_b % size, size, feat_size)], dim=-1)
    cells_b = torch.where(found.unsqueeze(-1), cells_b, torch.full_like(cells_b, -1))
    half = window // 2
    grid = torch.arange(feat_size, device=coords_a.device)
    fits_a = ((grid >= half) & (grid < feat_size - half))
    fits_a = fits_a.view(1, -1, 1) & fits_a.view(1, 1, -1)
    fits_b = ((cells_b >= half) & (cells_b < feat_size - half)).all(dim=-1)
    return cells_b, found & fits_a & fits_b


def sample_cells(valid: Tensor, num: int) -> tuple[Tensor, Tensor]:
    """Up to ``num`` distinct valid cells per sample, uniformly at random (torch's generator).

    Args:
        valid: ``[B, h, w]`` bool.
    Returns:
        ``batch_index [M]`` and ``flat_cell [M]`` (``row * w + col``) of the ``M`` chosen cells
        (``M <= B * num``; fewer when a sample has fewer valid cells).
    """
    if num < 1:
        raise ValueError(f'the number of matches per sample must be >= 1, got {num}')
    flat = valid.flatten(1)
    scores = torch.rand(flat.shape, device=valid.device).masked_fill(~flat, -1.0)
    top, index = scores.topk(min(num, flat.shape[1]), dim=1)
    keep = top >= 0
    batch_index = torch.arange(flat.shape[0], device=valid.device).view(-1, 1).expand_as(index)
    return batch_index[keep], index[keep]
