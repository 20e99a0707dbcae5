"""ContrastiveSeg's hard/easy anchor sampling, vectorised over images and classes.

Rule (Wang et al., ICCV 2021), applied to pixels at embedding resolution:

* candidate (image, class) pairs: classes present in the image, other than ``ignore_index``, with
  more than ``max_views`` pixels;
* ``n_view = min(max_samples // number_of_candidate_pairs_in_the_batch, max_views)``;
* per pair, hard pixels have ``label == c and pred != c``, easy ones ``label == c and pred == c``;
  ``n_view // 2`` hard and the rest easy are drawn at random, topping up from the other side when
  one side is short.

Every candidate pair therefore yields exactly ``n_view`` anchors. The whole batch is handled with a
few tensor operations and a fixed number of host synchronisations (the label check, ``n_view`` and
two data-dependent sizes), whatever the number of images and classes; there is no Python loop over
images or classes.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from ..ops.sorting import stable_argsort
from ..ops.validation import label_check, raise_on_flags


def random_ranks_within_groups(group: Tensor, num_groups: int,
                               generator: Optional[torch.Generator] = None) -> Tensor:
    """Rank every element among the elements of its group, in a uniformly random order.

    Args:
        group: [K] long, group id of each element, in ``[0, num_groups)``.
        num_groups: number of groups G.
        generator: source of randomness (``None``: torch's global generator).

    Returns:
        [K] long: for each element, its position ``0 .. size_of_its_group - 1`` in a random
        permutation of its group. Keeping ``rank < quota[group]`` draws ``quota`` random elements
        per group without replacement.
    """
    num = group.numel()
    perm = torch.randperm(num, device=group.device, generator=generator)
    order = perm[stable_argsort(group[perm], num_groups)]
    sizes = torch.bincount(group, minlength=num_groups)
    starts = torch.cumsum(sizes, 0) - sizes
    ranks = torch.empty_like(group)
    ranks[order] = torch.arange(num, device=group.device) - starts[group[order]]
    return ranks


def hard_easy_quota(num_hard: Tensor, num_easy: Tensor, n_view: int) -> Tuple[Tensor, Tensor]:
    """How many hard and easy anchors to take from each candidate (image, class) pair.

    Args:
        num_hard: [G] long, hard pixels per pair.
        num_easy: [G] long, easy pixels per pair; ``num_hard + num_easy >= n_view`` for candidates.
        n_view: anchors per pair.

    Returns:
        (keep_hard [G], keep_easy [G]) with ``keep_hard + keep_easy == n_view``: half (rounded down)
        hard and the rest easy when both sides have enough, else all of the short side and the
        remainder from the other.
    """
    keep_hard = torch.minimum(num_hard, (n_view - num_easy).clamp(min=n_view // 2))
    return keep_hard, n_view - keep_hard


def sample_hard_easy_anchors(labels: Tensor, preds: Optional[Tensor], num_classes: int,
                             max_samples: int, max_views: int, ignore_index: int = 255,
                             generator: Optional[torch.Generator] = None, *,
                             validate: bool = True) -> Tuple[Tensor, Tensor]:
    """Choose anchor pixels with ContrastiveSeg's hard/easy rule (see the module docstring).

    Args:
        labels: [N, P] long, ground-truth class of each of the P pixels of N images, values in
            ``[0, num_classes)`` or ``ignore_index``.
        preds: [N, P] long predicted classes, or ``None`` (no prediction: every pixel counts as
            easy, i.e. uniform random sampling).
        num_classes: number of classes C.
        max_samples: budget of anchors for the whole batch.
        max_views: most anchors per (image, class); also the pixel count a class must exceed.
        ignore_index: label of pixels that are never anchors.
        generator: source of randomness (``None``: torch's global generator).
        validate: check the label range (one host synchronisation); ``False`` when the caller
            has.

    Returns:
        index: [A] long, flat indices into the ``N * P`` pixels, grouped by (image, class, hard
            before easy); A = candidate pairs x n_view, 0 when no pair qualifies (or when there
            are more candidate pairs than ``max_samples``, which makes ``n_view`` 0).
        anchor_labels: [A] long, their classes.
    """
    if labels.dim() != 2:
        raise ValueError(f'labels must be [N, P], got shape {tuple(labels.shape)}')
    if preds is not None and preds.shape != labels.shape:
        raise ValueError(f'preds shape {tuple(preds.shape)} differs from labels shape '
                         f'{tuple(labels.shape)}')
    if max_samples < 1 or max_views < 1:
        raise ValueError(f'max_samples ({max_samples}) and max_views ({max_views}) must be >= 1')
    if validate:
        raise_on_flags(label_check(labels, num_classes, ignore_index))
    num_images, num_pixels = labels.shape
    flat = labels.reshape(-1)
    valid = flat != ignore_index
    image = torch.arange(num_images, device=flat.device).repeat_interleave(num_pixels)
    pair = image * num_classes + flat.clamp(0, num_classes - 1)
    num_pairs = num_images * num_classes
    counts = torch.bincount(pair[valid], minlength=num_pairs)
    candidate = counts > max_views
    total = int(candidate.sum())
    n_view = min(max_samples // total, max_views) if total else 0
    if n_view == 0:
        return flat.new_zeros(0), flat.new_zeros(0)
    hard = torch.zeros_like(valid) if preds is None else valid & (preds.reshape(-1) != flat)
    num_hard = torch.bincount(pair[hard], minlength=num_pairs)
    keep_hard, keep_easy = hard_easy_quota(num_hard, counts - num_hard, n_view)
    quota = torch.stack([keep_hard, keep_easy], 1).reshape(-1) * candidate.repeat_interleave(2)
    member = valid & candidate[pair]
    pixel_index = member.nonzero().squeeze(1)
    group = pair[pixel_index] * 2 + (~hard[pixel_index]).long()
    ranks = random_ranks_within_groups(group, 2 * num_pairs, generator)
    keep = ranks < quota[group]
    chosen, chosen_group = pixel_index[keep], group[keep]
    chosen = chosen[stable_argsort(chosen_group, 2 * num_pairs)]
    return chosen, flat[chosen]
