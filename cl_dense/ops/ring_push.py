"""``class_ring_push``: write labelled rows into per-class ring buffers, in place, in one op.

Registered as ``torch.ops.cl_dense.class_ring_push`` (CPU: torch indexing; CUDA: a Triton copy
kernel, torch indexing without Triton). The rows of class ``c`` are written in arrival order at
``ptr[c]``, wrapping around, so the oldest entries are overwritten first; ``ptr[c]`` advances by the
number of rows of class ``c`` (mod Q) and ``count[c] = min(count[c] + n_c, Q)``. When a class
gets more than ``Q`` rows in one push only its last ``Q`` survive, exactly as if the rows had been
written one by one. Rows labelled ``ignore_index`` are skipped.
"""
import torch
from torch import Tensor

from .sorting import stable_argsort
from .triton_support import triton_backend
from .validation import (check_features, check_labels, check_same, label_check, nonfinite,
                         raise_on_flags)


def ring_destinations(ptr: Tensor, labels: Tensor, size: int,
                      ignore_index: int) -> tuple[Tensor, Tensor]:
    """Where each row lands.

    Args:
        ptr: ``[C]`` int64 write pointers.
        labels: ``[N]`` int64 in ``[0, C)`` or ``ignore_index``.
        size: ``Q``, slots per class.

    Returns:
        ``dest [N]``: flat slot ``c * Q + slot`` of each surviving row, ``-1`` for rows that are
        ignored or overwritten within this push; ``written [C]``: rows received per class.
    """
    num_classes = ptr.shape[0]
    valid = labels != ignore_index
    group = torch.where(valid, labels, num_classes)
    per_group = torch.bincount(group, minlength=num_classes + 1)
    first = per_group.cumsum(0) - per_group
    order = stable_argsort(group, num_classes)
    sorted_group = group[order]
    rank = torch.empty_like(labels)
    rank[order] = torch.arange(labels.shape[0], device=labels.device) - first[sorted_group]
    written = per_group[:num_classes]
    cls = group.clamp(max=num_classes - 1)
    survives = valid & (rank >= written[cls] - size)
    dest = cls * size + (ptr[cls] + rank) % size
    return torch.where(survives, dest, torch.full_like(dest, -1)), written


def advance(ptr: Tensor, count: Tensor, written: Tensor, size: int) -> None:
    """Move the pointers by ``written`` (mod Q) and grow the fill counts, in place."""
    ptr.copy_((ptr + written) % size)
    count.copy_(torch.clamp(count + written, max=size))


def check_push(bank: Tensor, ptr: Tensor, count: Tensor, feats: Tensor, labels: Tensor,
               ignore_index: int, validate: bool = True) -> None:
    """Shapes, dtypes and devices; with ``validate`` also the data (one host synchronisation):
    label range ``[0, C)`` or ``ignore_index``, finite ``feats``."""
    if not isinstance(bank, Tensor) or bank.dim() != 3:
        got = tuple(bank.shape) if isinstance(bank, Tensor) else type(bank).__name__
        raise ValueError(f'bank must be a 3-D [C, Q, D] tensor, got {got}')
    if not bank.is_contiguous():
        raise ValueError('bank must be contiguous')
    num_classes, _, dim = bank.shape
    check_features('feats', feats, dim)
    check_labels('labels', labels, feats.shape[0])
    check_labels('ptr', ptr, num_classes)
    check_labels('count', count, num_classes)
    check_same('dtype', bank=bank, feats=feats)
    check_same('device', bank=bank, ptr=ptr, count=count, feats=feats, labels=labels)
    if validate:
        raise_on_flags({'feats contain NaN or infinite values': nonfinite(feats),
                        **label_check(labels, num_classes, ignore_index)})


@torch.library.custom_op('cl_dense::class_ring_push', mutates_args=('bank', 'ptr', 'count'),
                         device_types=('cpu', 'cuda'))
def class_ring_push_op(bank: Tensor, ptr: Tensor, count: Tensor, feats: Tensor, labels: Tensor,
                       ignore_index: int) -> None:
    """In-place push; see the module docstring. No validation (``class_ring_push`` does it)."""
    size = bank.shape[1]
    dest, written = ring_destinations(ptr, labels, size, ignore_index)
    triton = triton_backend() if bank.device.type == 'cuda' else None
    if triton is not None:
        triton.scatter_rows(bank, feats, dest)
    else:
        keep = dest >= 0
        bank.view(-1, bank.shape[2])[dest[keep]] = feats[keep]
    advance(ptr, count, written, size)


@class_ring_push_op.register_fake
def _(bank: Tensor, ptr: Tensor, count: Tensor, feats: Tensor, labels: Tensor,
      ignore_index: int) -> None:
    return None


def class_ring_push(bank: Tensor, ptr: Tensor, count: Tensor, feats: Tensor, labels: Tensor,
                    ignore_index: int = 255, *, validate: bool = True) -> None:
    """Push ``feats [N, D]`` with ``labels [N]`` into ``bank [C, Q, D]`` in place.

    ``ptr [C]`` and ``count [C]`` (int64) are updated in place. ``feats`` must share the bank's
    dtype and device; labels lie in ``[0, C)`` or equal ``ignore_index`` (those rows are skipped).
    Raises ``ValueError`` naming the offending argument; ``validate=False`` skips the data checks
    (labels, finiteness) when the caller has made them.
    """
    check_push(bank, ptr, count, feats, labels, ignore_index, validate)
    torch.ops.cl_dense.class_ring_push(bank, ptr, count, feats, labels, int(ignore_index))
