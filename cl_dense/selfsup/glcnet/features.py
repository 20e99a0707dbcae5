"""What GLCNet's two branches read from decoder features: per-channel style statistics (global)
and average-pooled windows around matched cells (local)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


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
