"""Shuffle-BN (MoCo): run the key encoder on a batch shuffled across processes, so that a
query and its positive key never share BN batch statistics; then undo the shuffle.

Works with any backend that has ``all_gather`` and ``broadcast`` (gloo on the CPU, nccl). With
one process it is the identity (BN over one batch does not depend on the order of its samples).
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.distributed as dist
from torch import Tensor

from ..memory.distributed import all_gather_rows, distributed_world_size


def shuffle_permutation(total: int, device: torch.device) -> Tensor:
    """A random permutation of ``range(total)`` drawn on rank 0 and broadcast to all ranks."""
    perm = torch.randperm(total, device=device) if dist.get_rank() == 0 else torch.empty(
        total, dtype=torch.long, device=device)
    dist.broadcast(perm, src=0)
    return perm


@torch.no_grad()
def batch_shuffled(fn: Callable[..., Sequence[Tensor]], *inputs: Tensor) -> list[Tensor]:
    """``fn(*inputs)`` computed on a shuffled global batch.

    Args:
        fn: maps tensors ``[n, ...]`` (sample-aligned) to a sequence of ``[n, ...]`` outputs,
            each row depending on its own sample only except through BN statistics.
        inputs: this rank's ``[N, ...]`` tensors; every rank must have the same ``N``.

    Returns:
        The outputs for this rank's own samples, in their order (as ``list(fn(*inputs))``
        would be, but with other BN batches).
    """
    world = distributed_world_size()
    if world == 1:
        return list(fn(*inputs))
    num = inputs[0].shape[0]
    gathered = all_gather_rows(*inputs)
    if gathered[0].shape[0] != world * num:
        raise ValueError('shuffle-BN needs the same batch size on every rank; use drop_last=True '
                         f'in the dataloader (this rank has {num} samples, all ranks '
                         f'{gathered[0].shape[0]})')
    perm = shuffle_permutation(world * num, inputs[0].device)
    rank = dist.get_rank()
    mine = perm[rank * num:(rank + 1) * num]
    outputs = fn(*(x[mine] for x in gathered))
    restored = []
    for out_all in all_gather_rows(*outputs):
        unshuffled = torch.empty_like(out_all)
        unshuffled[perm] = out_all
        restored.append(unshuffled[rank * num:(rank + 1) * num])
    return restored
