"""Key queues (MoCo) on :class:`cl_dense.memory.ClassMemoryBank` with one class: enqueue a step's
keys and know where this rank's keys landed, read the filled slots without copying."""
from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor

from ..memory import ClassMemoryBank
from ..memory.distributed import all_gather_rows, distributed_world_size


def rank_offset(num: int, device: torch.device) -> tuple[int, int]:
    """``(rows pushed by lower ranks, rows pushed by all ranks)`` when every rank pushes ``num``
    rows (gathered in rank order, as ``ClassMemoryBank.push`` does)."""
    if distributed_world_size() == 1:
        return 0, num
    lengths = all_gather_rows(torch.tensor([num], device=device))[0].tolist()
    rank = dist.get_rank()
    return sum(lengths[:rank]), sum(lengths)


def check_queue(queue: ClassMemoryBank) -> None:
    if queue.num_classes != 1:
        raise ValueError(f'a key queue is a ClassMemoryBank with num_classes=1, got '
                         f'{queue.num_classes}')


@torch.no_grad()
def enqueue_keys(queue: ClassMemoryBank, keys: Tensor, offset: int, total: int) -> Tensor:
    """Push ``keys [N, D]`` (all ranks' keys, in rank order, oldest slots overwritten first) and
    return the slots ``[N]`` holding this rank's keys; ``offset``/``total`` from
    :func:`rank_offset`.

    Raises:
        ValueError: the step's keys (all ranks) do not fit in the queue.
    """
    check_queue(queue)
    if total > queue.size:
        raise ValueError(f'queue of {queue.size} slots is smaller than one step\'s keys '
                         f'({total}, all ranks); raise queue_size')
    start = int(queue.ptr[0])
    queue.push(keys, torch.zeros(keys.shape[0], dtype=torch.long, device=keys.device))
    return (start + offset + torch.arange(keys.shape[0], device=keys.device)) % queue.size


def filled_keys(queue: ClassMemoryBank) -> Tensor:
    """The filled slots ``[count, D]`` as a view of the queue buffer (slots fill from 0)."""
    check_queue(queue)
    return queue.feats[0, :int(queue.count[0])]
