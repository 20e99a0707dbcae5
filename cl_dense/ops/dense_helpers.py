"""Vectorised per-(image, class) reductions of dense embeddings.

No Python loop over images or classes and no host synchronisation per class: pixels are grouped by
the flat id ``image * (C + 1) + class``, ignored pixels into each image's extra slot ``C``, which
is dropped. The synchronisations are the input check and the data-dependent output size.

Input contract: labels in ``[0, C)`` or ``ignore_index``, and every embedding finite, ignored
pixels included (a NaN anywhere means the network has diverged). With ``validate=False`` the caller
vouches for both (the contrast losses check a batch once, for all the ops they call) and the
check's host synchronisation is skipped.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .sorting import stable_sort
from .validation import check_same, label_check, nonfinite, raise_on_flags


def _check_shapes(embeddings: Tensor, labels: Tensor) -> None:
    """``embeddings [B, D, H, W]`` floating and ``labels [B, H, W]`` int64 on one device."""
    if embeddings.dim() != 4 or not embeddings.is_floating_point():
        raise ValueError(f'embeddings must be a floating [B, D, H, W] tensor, got '
                         f'{embeddings.dtype} {tuple(embeddings.shape)}')
    batch, _, height, width = embeddings.shape
    if labels.dtype != torch.int64 or tuple(labels.shape) != (batch, height, width):
        raise ValueError(f'labels must be int64 [{batch}, {height}, {width}] (the embedding '
                         f'resolution), got {labels.dtype} {tuple(labels.shape)}')
    check_same('device', embeddings=embeddings, labels=labels)


def validate_pixels(embeddings: Optional[Tensor], labels: Tensor, num_classes: int,
                    ignore_index: int) -> None:
    """The input contract (module docstring), one host synchronisation: labels in range and,
    when given, every entry of ``embeddings`` finite."""
    checks = label_check(labels, num_classes, ignore_index)
    if embeddings is not None:
        checks['embeddings contain NaN or infinite values'] = nonfinite(embeddings)
    raise_on_flags(checks)


def _pixel_classes(labels: Tensor, num_classes: int, ignore_index: int) -> Tensor:
    """``local [B, H * W]``: each pixel's class, ``C`` for ignored pixels (and for labels out of
    range, which validation rejects)."""
    flat = labels.reshape(labels.shape[0], -1)
    in_range = (flat >= 0) & (flat < num_classes) & (flat != ignore_index)
    return torch.where(in_range, flat, num_classes)


def _group_ids(local: Tensor, num_classes: int) -> Tensor:
    """``b * (C + 1) + class`` per pixel of ``local [B, H * W]`` (slot ``C``: ignored)."""
    image = torch.arange(local.shape[0], device=local.device).unsqueeze(1)
    return local + image * (num_classes + 1)


def region_means(embeddings: Tensor, labels: Tensor, num_classes: int, ignore_index: int = 255,
                 *, validate: bool = True) -> tuple[Tensor, Tensor, Tensor]:
    """L2-normalised mean embedding of each (image, class) region present.

    Args:
        embeddings: ``[B, D, H, W]``, finite.
        labels: ``[B, H, W]`` int64 at the embedding resolution, in ``[0, C)`` or ``ignore_index``.
        validate: check the input contract (module docstring); ``False`` when the caller has.

    Returns:
        ``means [R, D]`` (L2-normalised, float32 for half inputs), ``labels [R]``,
        ``image_index [R]``, ordered by image then class.
    """
    _check_shapes(embeddings, labels)
    if validate:
        validate_pixels(embeddings, labels, num_classes, ignore_index)
    batch, dim = embeddings.shape[:2]
    dtype = torch.float64 if embeddings.dtype == torch.float64 else torch.float32
    local = _pixel_classes(labels, num_classes, ignore_index)
    one_hot = embeddings.new_zeros((batch, num_classes + 1, local.shape[1]), dtype=dtype)
    one_hot.scatter_(1, local.unsqueeze(1), 1.0)
    # [B, C + 1, HW] @ [B, HW, D] (a transposed view), the ignored row dropped afterwards: 1.5x
    # faster here than [B, D, HW] @ [B, HW, C], and a sliced (strided) one-hot is slower still
    sums = torch.bmm(one_hot, embeddings.reshape(batch, dim, -1).to(dtype).transpose(1, 2))
    sums = sums[:, :num_classes]
    pixels = torch.bincount(_group_ids(local, num_classes).reshape(-1),
                            minlength=batch * (num_classes + 1))
    ids = (pixels.view(batch, -1)[:, :num_classes].reshape(-1) > 0).nonzero().squeeze(1)
    means = sums.reshape(-1, dim)[ids]
    return F.normalize(means, dim=1), ids % num_classes, ids // num_classes


def sample_pixel_indices(labels: Tensor, k: int, num_classes: int, ignore_index: int = 255,
                         generator: Optional[torch.Generator] = None, *,
                         validate: bool = True) -> Tensor:
    """Up to ``k`` random pixels of each (image, class) region, uniformly without replacement.

    Args:
        labels: ``[B, H, W]`` int64.
        generator: on ``labels``' device; the same generator state gives the same pixels.
        validate: check the label range; ``False`` when the caller has.

    Returns:
        ``[N]`` flat indices into ``B * H * W``, grouped by image then class.
    """
    if k < 1:
        raise ValueError(f'k must be >= 1, got {k}')
    if labels.dim() != 3 or labels.dtype != torch.int64:
        raise ValueError(f'labels must be int64 [B, H, W], got {labels.dtype} '
                         f'{tuple(labels.shape)}')
    if validate:
        validate_pixels(None, labels, num_classes, ignore_index)
    local = _pixel_classes(labels, num_classes, ignore_index)
    groups = _group_ids(local, num_classes).reshape(-1)
    slots = labels.shape[0] * (num_classes + 1)
    # a random permutation, then a stable sort by group: each group's pixels in random order
    shuffle = torch.randperm(groups.shape[0], generator=generator, device=labels.device)
    sorted_groups, position = stable_sort(groups[shuffle], slots)
    per_group = torch.bincount(groups, minlength=slots)
    # keep the first k of each group; ignored pixels sit in every image's slot C
    limit = (per_group.cumsum(0) - per_group + k).masked_fill_(
        torch.arange(slots, device=labels.device) % (num_classes + 1) == num_classes, 0)
    keep = torch.arange(groups.shape[0], device=labels.device) < limit[sorted_groups.long()]
    return shuffle[position[keep]]


def sample_pixels_per_region(embeddings: Tensor, labels: Tensor, k: int, num_classes: int,
                             ignore_index: int = 255,
                             generator: Optional[torch.Generator] = None, *,
                             validate: bool = True) -> tuple[Tensor, Tensor, Tensor]:
    """Embeddings of up to ``k`` random pixels per (image, class) region.

    Args:
        embeddings: ``[B, D, H, W]``, finite.
        labels: ``[B, H, W]`` int64 at the embedding resolution.
        validate: check the input contract (module docstring); ``False`` when the caller has.

    Returns:
        ``feats [N, D]`` (input dtype), ``labels [N]``, ``image_index [N]``, grouped by image
        then class (see ``sample_pixel_indices``).
    """
    _check_shapes(embeddings, labels)
    if validate:
        validate_pixels(embeddings, labels, num_classes, ignore_index)
    index = sample_pixel_indices(labels, k, num_classes, ignore_index, generator, validate=False)
    batch, dim, height, width = embeddings.shape
    pixels = height * width
    image = index // pixels
    feats = embeddings.reshape(batch, dim, pixels)[image, :, index % pixels]
    return feats, labels.reshape(-1)[index], image
