"""What GLCNet's two branches read from decoder features: per-channel style statistics (global)
and average-pooled windows around matched cells (local)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .correspondence import match_cells, sample_cells


def style_statistics(feats: Tensor) -> Tensor:
    """Channel means and (biased) variances over the spatial positions.

    ``feats [N, C, h, w]`` -> ``[N, 2C]`` (the C means, then the C variances).
    """
    if feats.dim() != 4:
        raise ValueError(f'feats must be [N, C, h, w], got {tuple(feats.shape)}')
    var, mean = torch.var_mean(feats.flatten(2), dim=2, unbiased=False)
    return torch.cat([mean, var], dim=1)


def pool_windows(feats: Tensor, batch_index: Tensor, rows: Tensor, cols: Tensor,
                 window: int) -> Tensor:
    """Mean of the ``window x window`` cells centred at each ``(batch_index, rows, cols)``.

    Args:
        feats: ``[N, C, h, w]``.
        batch_index, rows, cols: ``[M]`` int64 centres; each window must fit inside the map.
        window: odd side of the window (1 = the cell itself).
    Returns:
        ``[M, C]``.
    """
    if window < 1 or window % 2 == 0:
        raise ValueError(f'window must be odd and >= 1, got {window}')
    half = window // 2
    height, width = feats.shape[-2:]
    if rows.numel() and (int(rows.min()) < half or int(cols.min()) < half
                         or int(rows.max()) >= height - half or int(cols.max()) >= width - half):
        raise ValueError(f'a {window}x{window} window centred at a given cell leaves the '
                         f'{height}x{width} feature map')
    pooled = F.avg_pool2d(feats, window, stride=1) if window > 1 else feats
    return pooled[batch_index, :, rows - half, cols - half]


def matched_windows(feats: Tensor, coords: Tensor, num: int, window: int) -> Tensor:
    """Pooled windows around up to ``num`` random matched cells per sample, in both views.

    Args:
        feats: ``[B, 2, C, h, h]`` features of the two views.
        coords: ``[B, 2, 2, S, S]`` their coordinate maps.
    Returns:
        ``[M, 2, C]``: window means around a cell of view 1 and around the cell of view 2 that
        holds the source pixel at that cell's centre (``M <= B * num``; 0 without a match).
    """
    size = feats.shape[-1]
    cells_b, valid = match_cells(coords[:, 0], coords[:, 1], size, window)
    batch_index, flat = sample_cells(valid, num)
    rows_a, cols_a = flat.div(size, rounding_mode='floor'), flat % size
    rows_b, cols_b = cells_b[batch_index, rows_a, cols_a].unbind(-1)
    return torch.stack([pool_windows(feats[:, 0], batch_index, rows_a, cols_a, window),
                        pool_windows(feats[:, 1], batch_index, rows_b, cols_b, window)], dim=1)
