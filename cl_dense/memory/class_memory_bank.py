"""``ClassMemoryBank``: per-class ring buffers of detached, labelled embeddings."""
import torch
from torch import Tensor, nn

from ..ops.ring_push import check_push
from .distributed import all_gather_rows


class ClassMemoryBank(nn.Module):
    """``C`` ring buffers of ``Q`` embeddings of dimension ``D``, one per class.

    Persistent buffers (saved in the state dict and moved by ``.to``): ``feats [C, Q, D]``,
    ``ptr [C]`` (next slot to write) and ``count [C]`` (filled slots). Slots are overwritten oldest
    first. A MoCo-style queue is ``num_classes=1`` with every label 0.

    Args:
        num_classes: ``C``.
        size: ``Q``, slots per class.
        dim: ``D``.
        ignore_index: rows pushed with this label are skipped.
        dtype: storage dtype of ``feats``.
    """

    def __init__(self, num_classes: int, size: int, dim: int, ignore_index: int = 255,
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        for name, value in (('num_classes', num_classes), ('size', size), ('dim', dim)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f'{name} must be a positive int, got {value!r}')
        self.ignore_index = ignore_index
        self.register_buffer('feats', torch.zeros(num_classes, size, dim, dtype=dtype))
        self.register_buffer('ptr', torch.zeros(num_classes, dtype=torch.int64))
        self.register_buffer('count', torch.zeros(num_classes, dtype=torch.int64))

    @property
    def num_classes(self) -> int:
        return self.feats.shape[0]

    @property
    def size(self) -> int:
        return self.feats.shape[1]

    @property
    def dim(self) -> int:
        return self.feats.shape[2]

    @torch.no_grad()
    def push(self, feats: Tensor, labels: Tensor, *, validate: bool = True) -> None:
        """Enqueue ``feats [N, D]`` (detached, cast to the bank dtype) with ``labels [N]``.

        With an initialised process group the rows of all ranks are gathered first (ranks may
        push different N, even 0) and pushed in rank order, so every rank ends with the same
        bank. Each rank validates its own rows before the gather (labels in ``[0, C)`` or
        ``ignore_index``, finite features); ``validate=False`` skips that data check (one host
        synchronisation) when the caller has made it.
        """
        if isinstance(feats, Tensor) and feats.is_floating_point():
            feats = feats.detach().to(self.feats.dtype)
        check_push(self.feats, self.ptr, self.count, feats, labels, self.ignore_index, validate)
        feats, labels = all_gather_rows(feats, labels)
        torch.ops.cl_dense.class_ring_push(self.feats, self.ptr, self.count, feats, labels,
                                           self.ignore_index)

    def keys(self) -> tuple[Tensor, Tensor]:
        """Filled slots only: ``(feats [M', D], labels [M'])``, class-major (sorted by label)."""
        filled = torch.arange(self.size, device=self.count.device) < self.count.unsqueeze(1)
        labels = torch.arange(self.num_classes, device=self.count.device).unsqueeze(1)
        return self.feats[filled], labels.expand_as(filled)[filled]

    def reset(self) -> None:
        """Empty the bank (zero features, pointers and counts)."""
        self.feats.zero_()
        self.ptr.zero_()
        self.count.zero_()

    def extra_repr(self) -> str:
        filled = int(self.count.sum())
        return (f'num_classes={self.num_classes}, size={self.size}, dim={self.dim}, '
                f'dtype={self.feats.dtype}, ignore_index={self.ignore_index}, '
                f'filled={filled}/{self.num_classes * self.size}')
