"""Which anchors and keys take part in a supervised contrast, in which order.

Both backends (chunked torch on the CPU, Triton on CUDA) work on the same plan: the valid keys
sorted by label (so each class is one contiguous range of key positions) and the anchors that have
at least one positive, sorted by label too. Building it costs two host synchronisations per call,
none per class.
"""
from dataclasses import dataclass
from typing import NamedTuple, Optional

import torch
from torch import Tensor

from .sorting import stable_argsort

@dataclass
class ContrastPlan:
    """Index bookkeeping of one ``supervised_contrast`` call.

    Attributes:
        anchor_index: ``[n]`` rows of ``anchors`` that take part (label not ignored, at least one
            positive), sorted by label (stable).
        anchor_labels: ``[n]`` their labels.
        num_pos: ``[n]`` int64, ``|P_i|`` (self excluded).
        pos_lo, pos_hi: ``[n]`` the range of the anchor's class in the sorted key positions.
        key_order: ``[M']`` rows of ``keys`` with a valid label, sorted by label (stable); ``None``
            when every key is valid and the labels are already sorted (position == row).
        key_labels: ``[M']`` labels in sorted key positions.
        self_pos: ``[n]`` sorted key position of the anchor itself (self-contrast), else ``None``.
    """

    anchor_index: Tensor
    anchor_labels: Tensor
    num_pos: Tensor
    pos_lo: Tensor
    pos_hi: Tensor
    key_order: Optional[Tensor]
    key_labels: Tensor
    self_pos: Optional[Tensor]

    @property
    def num_anchors(self) -> int:
        """``n``, the number of anchors with a positive."""
        return self.anchor_index.shape[0]

    @property
    def num_keys(self) -> int:
        """``M'``, the number of valid keys."""
        return self.key_labels.shape[0]

    def class_blocks(self) -> list[tuple[int, int, int, int]]:
        """``(row_start, row_end, key_start, key_end)`` per class present among the anchors.

        One host synchronisation; the rows are anchor positions in the plan, the keys sorted
        key positions (the positives of those anchors, self included).
        """
        if self.num_anchors == 0:
            return []
        _, counts = torch.unique_consecutive(self.anchor_labels, return_counts=True)
        row_end = counts.cumsum(0)
        row_start = row_end - counts
        table = torch.stack([row_start, row_end, self.pos_lo[row_start], self.pos_hi[row_start]], 1)
        return [tuple(row) for row in table.tolist()]


def _sort_valid(labels: Tensor, valid: Tensor, count: int, last: int) -> Tensor:
    """Rows with ``valid`` set, stably sorted by label (valid labels in ``[0, last)``):
    ``[count]``."""
    return stable_argsort(torch.where(valid, labels, last), last)[:count]


def build_plan(anchor_labels: Tensor, key_labels: Tensor, ignore_index: int,
               self_contrast: bool) -> ContrastPlan:
    """Plan a contrast of ``anchor_labels [A]`` against ``key_labels [M]``.

    In self-contrast the keys are the anchors (row i of both is the same sample) and the pair
    ``(i, i)`` takes no part.
    """
    key_valid = key_labels != ignore_index
    unsorted = (key_labels[1:] < key_labels[:-1]).any()
    largest = torch.cat([key_labels, anchor_labels, key_labels.new_zeros(1)]).max()
    all_valid, is_unsorted, num_keys, largest = torch.stack(
        [key_valid.all().long(), unsorted.long(), key_valid.sum(), largest]).tolist()
    last = largest + 1
    if all_valid and not is_unsorted:
        key_order = None
        sorted_labels = key_labels
    else:
        key_order = _sort_valid(key_labels, key_valid, num_keys, last)
        sorted_labels = key_labels[key_order]

    pos_lo = torch.searchsorted(sorted_labels, anchor_labels, side='left')
    pos_hi = torch.searchsorted(sorted_labels, anchor_labels, side='right')
    num_pos = pos_hi - pos_lo - int(self_contrast)
    takes_part = (anchor_labels != ignore_index) & (num_pos > 0)
    anchor_index = _sort_valid(anchor_labels, takes_part, int(takes_part.sum()), last)

    self_pos = None
    if self_contrast:
        if key_order is None:
            self_pos = anchor_index
        else:
            position = torch.full_like(key_labels, -1)
            position[key_order] = torch.arange(num_keys, device=key_labels.device)
            self_pos = position[anchor_index]
    return ContrastPlan(anchor_index=anchor_index, anchor_labels=anchor_labels[anchor_index],
                        num_pos=num_pos[anchor_index], pos_lo=pos_lo[anchor_index],
                        pos_hi=pos_hi[anchor_index], key_order=key_order, key_labels=sorted_labels,
                        self_pos=self_pos)


class ForwardStats(NamedTuple):
    """What a backend's forward pass returns, per anchor of the plan.

    Attributes:
        log_z: ``[n]`` logsumexp of ``s`` over the denominator keys (negatives for
            contrastiveseg, every key but self for supcon); ``-inf`` when there is none.
        pos_term: ``[n]`` ``sum_p softplus(log_z - s_ip)`` (contrastiveseg) or ``sum_p s_ip``.
        pos_weight: ``[n]`` ``sum_p sigmoid(log_z - s_ip)`` (contrastiveseg) or zeros.
        row_max: ``[n]`` the shift ``m_i`` of ``exp_keys`` (zeros when none was needed).
        exp_keys: ``[n, D]`` ``sum_j exp(s_ij - m_i) k_j`` over the denominator keys, or ``None``
            when the anchors' gradient was not asked for.
        pos_keys: ``[n, D]`` ``sum_p sigmoid(log_z - s_ip) k_p`` (contrastiveseg) or
            ``sum_p k_p`` (supcon), or ``None`` likewise.
    """

    log_z: Tensor
    pos_term: Tensor
    pos_weight: Tensor
    row_max: Tensor
    exp_keys: Optional[Tensor]
    pos_keys: Optional[Tensor]
