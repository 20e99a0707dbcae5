"""All-gather of row tensors whose length differs across ranks (torch.distributed only)."""
import torch
import torch.distributed as dist
from torch import Tensor


def distributed_world_size() -> int:
    """Number of ranks when a process group is initialised, else 1."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


def all_gather_rows(*tensors: Tensor) -> tuple[Tensor, ...]:
    """Concatenate each tensor along dim 0 over all ranks, in rank order.

    The tensors of one rank share their length ``N_r`` (which may differ between ranks); each
    result has ``sum_r N_r`` rows. Without an initialised process group, returns the inputs.
    """
    world = distributed_world_size()
    if world == 1:
        return tensors
    device = tensors[0].device
    length = torch.tensor([tensors[0].shape[0]], device=device)
    lengths = [torch.zeros_like(length) for _ in range(world)]
    dist.all_gather(lengths, length)
    lengths = [int(n) for n in torch.cat(lengths).tolist()]
    longest = max(lengths)
    if longest == 0:
        return tensors
    gathered = []
    for tensor in tensors:
        padded = tensor.new_zeros((longest, *tensor.shape[1:]))
        padded[:tensor.shape[0]] = tensor
        parts = [torch.empty_like(padded) for _ in range(world)]
        dist.all_gather(parts, padded)
        gathered.append(torch.cat([part[:n] for part, n in zip(parts, lengths)]))
    return tuple(gathered)
