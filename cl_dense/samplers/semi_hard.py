"""Semi-hard mining of memory-bank keys for pixel contrast.

Wang et al. (ICCV 2021) describe, without releasing code, contrasting anchors against keys that are
hard but not the very hardest: take the top ``candidate_ratio`` (10 %) of the negatives by
similarity (nearest) and of the positives by dissimilarity (farthest), then draw ``num_negatives`` /
``num_positives`` of them at random.

Here the mined set is shared by the anchors of one class (so that one contrast call per class
suffices): a negative key's hardness for class c is its highest similarity to any class-c anchor of
the batch, a positive key's hardness its lowest similarity to any of them (the worst case over the
class's anchors). Everything is computed for all classes at once on a ``[C, M]`` score table. With
the memory defaults (one anchor per image and class) a class has as many anchors as images per
GPU, so the shared set is close to the paper's per-anchor sets.
"""
import math
from typing import Optional, Tuple

import torch
from torch import Tensor


def random_pick_from_top(hardness: Tensor, eligible: Tensor, candidate_ratio: float, num: int,
                         generator: Optional[torch.Generator] = None) -> Tuple[Tensor, Tensor]:
    """Per row, draw ``num`` random columns among the hardest ``candidate_ratio`` of the eligible.

    Args:
        hardness: [R, M] float, larger is harder.
        eligible: [R, M] bool, which columns row r may pick.
        candidate_ratio: fraction in (0, 1] of a row's eligible columns that are candidates
            (rounded up, so a row with an eligible column has at least one candidate).
        num: columns to draw per row (fewer when a row has fewer candidates).
        generator: source of randomness.

    Returns:
        index [R, k] long and valid [R, k] bool with ``k = min(num, most candidates of a row)``;
        invalid entries are padding. Only the candidates are ranked (a top-k, not a full sort).
    """
    rows = hardness.shape[0]
    num_candidates = torch.ceil(eligible.sum(1).double() * candidate_ratio).long()
    most = int(num_candidates.max()) if rows else 0
    _, order = hardness.masked_fill(~eligible, -math.inf).topk(most, dim=1, sorted=True)
    is_candidate = torch.arange(most, device=hardness.device)[None] < num_candidates[:, None]
    draw = torch.rand(rows, most, device=hardness.device, generator=generator)
    draw = draw.masked_fill(~is_candidate, -1.0)
    values, picked = draw.topk(min(num, most), dim=1)
    return order.gather(1, picked), values >= 0


def class_extreme_similarities(anchors: Tensor, rows: Tensor, num_rows: int, keys: Tensor,
                               chunk_size: int = 256) -> Tuple[Tensor, Tensor]:
    """Highest and lowest similarity of every key to the anchors of each row group.

    Args:
        anchors: [A, D]; rows: [A] long in ``[0, num_rows)``, the group of each anchor.
        keys: [M, D].
        chunk_size: anchors per matrix product (memory is O(chunk_size x M)).

    Returns:
        highest [num_rows, M] and lowest [num_rows, M] float32 (-inf / +inf for empty groups).
    """
    anchors, keys = anchors.detach().float(), keys.detach().float()
    highest = keys.new_full((num_rows, keys.shape[0]), -math.inf)
    lowest = keys.new_full((num_rows, keys.shape[0]), math.inf)
    for start in range(0, anchors.shape[0], chunk_size):
        sims = (anchors[start:start + chunk_size] @ keys.t()).float()  # float32 under autocast too
        index = rows[start:start + chunk_size, None].expand_as(sims)
        highest.scatter_reduce_(0, index, sims, 'amax')
        lowest.scatter_reduce_(0, index, sims, 'amin')
    return highest, lowest


def mine_semi_hard_keys(anchors: Tensor, anchor_labels: Tensor, keys: Tensor, key_labels: Tensor,
                        num_positives: int, num_negatives: int, candidate_ratio: float = 0.1,
                        ignore_index: int = 255, generator: Optional[torch.Generator] = None
                        ) -> Tuple[Tensor, Tensor, Tensor]:
    """Mine a set of hard positive and negative keys for each class present among the anchors.

    Args:
        anchors: [A, D] anchor embeddings (not differentiated here).
        anchor_labels: [A] long class of each anchor.
        keys: [M, D] key embeddings.
        key_labels: [M] long; keys labelled ``ignore_index`` are never picked.
        num_positives, num_negatives: keys drawn per class from each side.
        candidate_ratio: fraction in (0, 1] of each side's keys that are candidates.
        ignore_index: key label that takes no part.
        generator: source of randomness.

    Returns:
        classes [G] (the distinct anchor labels, sorted), key_index [G, K] long into ``keys`` and
        key_valid [G, K] bool, K = min(num_positives, most positive candidates of a row) + the same
        for negatives; row g serves the anchors of ``classes[g]``. Positives come first. Memory is
        O((G + 256) x M).
    """
    if not 0 < candidate_ratio <= 1:
        raise ValueError(f'candidate_ratio must be in (0, 1], got {candidate_ratio}')
    if num_positives < 1 or num_negatives < 1:
        raise ValueError(f'num_positives ({num_positives}) and num_negatives ({num_negatives}) '
                         'must be >= 1')
    classes, rows = torch.unique(anchor_labels, return_inverse=True)
    highest, lowest = class_extreme_similarities(anchors, rows, classes.numel(), keys)
    same = key_labels[None] == classes[:, None]
    negative = ~same & (key_labels != ignore_index)[None]
    pos_index, pos_valid = random_pick_from_top(-lowest, same, candidate_ratio, num_positives,
                                                generator)
    neg_index, neg_valid = random_pick_from_top(highest, negative, candidate_ratio,
                                                num_negatives, generator)
    return classes, torch.cat([pos_index, neg_index], 1), torch.cat([pos_valid, neg_valid], 1)
