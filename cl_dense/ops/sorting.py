"""Stable integer argsort that takes PyTorch's fastest CPU path.

A stable sort of 262,144 values in ``[0, 160)``: int16 2.2x faster than int64
(``tools/analysis_tools/benchmark_micro_ops.py``, 2-core x86_64, 2026-12-03). Group ids and labels
are small, so they are sorted as int16 whenever they fit.
"""
import torch
from torch import Tensor

_INT16_MAX = torch.iinfo(torch.int16).max


def stable_sort(values: Tensor, upper: int) -> tuple[Tensor, Tensor]:
    """Sort the integer ``values`` (all in ``[0, upper]``) stably: ``(sorted values, indices)``,
    both ``[N]``; the values come back as int16 when they fit (fine for comparisons and
    arithmetic, not for indexing)."""
    if upper <= _INT16_MAX:
        values = values.to(torch.int16)
    return torch.sort(values, stable=True)


def stable_argsort(values: Tensor, upper: int) -> Tensor:
    """Indices sorting the integer ``values`` (all in ``[0, upper]``) stably, ``[N]`` int64."""
    return stable_sort(values, upper)[1]
