"""Chunked torch implementation of the supervised-contrast passes (the CPU backend).

Keys are streamed in chunks of ``chunk_size`` sorted key positions; each chunk's similarities
``S = (anchors / t) @ chunk^T`` (``[n, chunk]``) are recomputed where needed (the backward never
reads a stored ``[n, M]`` matrix), so the extra memory is O(n x chunk). Positives are masked by
class blocks (anchors and keys are both sorted by label, so a class is one rectangle of ``S``) and
the anchor itself, in self-contrast, by one scatter of ``n`` entries.

Notation: ``n`` anchors of the plan, ``M'`` valid keys, ``s_ij`` anchor-key similarity / t.
"""
from collections.abc import Iterator
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .contrast_plan import ContrastPlan

Block = tuple[int, int, int, int]


def _key_chunks(plan: ContrastPlan, keys: Tensor, start: int, end: int, chunk_size: int,
                dtype: torch.dtype) -> Iterator[tuple[int, int, Tensor]]:
    """Yield ``(j0, j1, keys of sorted positions j0..j1 [j1 - j0, D] in dtype)``."""
    for j0 in range(start, end, chunk_size):
        j1 = min(j0 + chunk_size, end)
        if plan.key_order is None:
            chunk = keys[j0:j1]
        else:
            chunk = keys.index_select(0, plan.key_order[j0:j1])
        yield j0, j1, chunk.to(dtype)


def _overlaps(blocks: list[Block], j0: int, j1: int) -> Iterator[tuple[int, int, int, int]]:
    """Class blocks cut to key positions ``[j0, j1)``: ``(r0, r1, c0, c1)``, columns local."""
    for r0, r1, k0, k1 in blocks:
        c0, c1 = max(k0, j0), min(k1, j1)
        if c0 < c1:
            yield r0, r1, c0 - j0, c1 - j0


def _set_self(s: Tensor, self_pos: Optional[Tensor], j0: int, value: float) -> None:
    """Set ``s[r, self_pos[r] - j0] = value`` for the rows whose own key lies in this chunk."""
    if self_pos is None:
        return
    local = self_pos - j0
    inside = (local >= 0) & (local < s.shape[1])
    local = local.clamp(0, s.shape[1] - 1).unsqueeze(1)
    current = s.gather(1, local)
    s.scatter_(1, local, torch.where(inside.unsqueeze(1), torch.full_like(current, value), current))


class _OnlineLogSumExp:
    """Row-wise logsumexp over column chunks without keeping them: ``[n]``."""

    def __init__(self, n: int, like: Tensor) -> None:
        self.max = torch.full((n,), float('-inf'), dtype=like.dtype, device=like.device)
        self.sum = torch.zeros(n, dtype=like.dtype, device=like.device)

    def update(self, s: Tensor) -> None:
        """Fold in ``s [n, chunk]`` (overwritten)."""
        new_max = torch.maximum(self.max, s.amax(1))
        shift = torch.where(torch.isfinite(new_max), new_max, torch.zeros_like(new_max))
        s.sub_(shift.unsqueeze(1)).exp_()
        self.sum = self.sum * torch.exp(self.max - shift) + s.sum(1)
        self.max = new_max

    def result(self) -> Tensor:
        """``log sum exp`` per row, ``-inf`` for rows that saw no finite entry."""
        shift = torch.where(torch.isfinite(self.max), self.max, torch.zeros_like(self.max))
        return torch.log(self.sum) + shift


def _scaled_anchors(plan: ContrastPlan, anchors: Tensor, temperature: float,
                    dtype: torch.dtype) -> Tensor:
    """Anchors of the plan divided by t, ``[n, D]`` in the compute dtype."""
    return anchors.index_select(0, plan.anchor_index).to(dtype) / temperature


def forward_stats(plan: ContrastPlan, anchors: Tensor, keys: Tensor, temperature: float,
                  supcon: bool, chunk_size: int,
                  dtype: torch.dtype) -> tuple[Tensor, Tensor, Tensor]:
    """Per-anchor statistics of the loss, each ``[n]``.

    Returns ``(log_z, pos_term, pos_weight)``:
        contrastiveseg: ``log_z = LSE_{negatives} s``, ``pos_term = sum_p softplus(log_z - s_ip)``,
            ``pos_weight = sum_p sigmoid(log_z - s_ip)`` (used by the backward);
        supcon: ``log_z = LSE_{all keys but self} s``, ``pos_term = sum_p s_ip``,
            ``pos_weight = 0``.
    """
    a = _scaled_anchors(plan, anchors, temperature, dtype)
    blocks = plan.class_blocks()
    lse = _OnlineLogSumExp(plan.num_anchors, a)
    pos_term = a.new_zeros(plan.num_anchors)
    for j0, j1, chunk in _key_chunks(plan, keys, 0, plan.num_keys, chunk_size, dtype):
        s = a @ chunk.T
        for r0, r1, c0, c1 in _overlaps(blocks, j0, j1):
            if supcon:
                pos_term[r0:r1] += s[r0:r1, c0:c1].sum(1)
            else:
                s[r0:r1, c0:c1] = float('-inf')
        if supcon:
            _set_self(s, plan.self_pos, j0, float('-inf'))
        lse.update(s)
    log_z = lse.result()
    if supcon:
        if plan.self_pos is not None:
            own = keys.index_select(0, plan.anchor_index).to(dtype)
            pos_term -= (a * own).sum(1)
        return log_z, pos_term, torch.zeros_like(log_z)
    pos_weight = torch.zeros_like(log_z)
    for r0, r1, k0, k1 in blocks:
        rows = slice(r0, r1)
        self_pos = None if plan.self_pos is None else plan.self_pos[rows]
        for j0, _, chunk in _key_chunks(plan, keys, k0, k1, chunk_size, dtype):
            gap = log_z[rows].unsqueeze(1) - a[rows] @ chunk.T
            _set_self(gap, self_pos, j0, float('-inf'))
            pos_term[rows] += F.softplus(gap).sum(1)
            pos_weight[rows] += torch.sigmoid(gap).sum(1)
    return log_z, pos_term, pos_weight


def backward_grads(plan: ContrastPlan, anchors: Tensor, keys: Tensor, temperature: float,
                   supcon: bool, chunk_size: int, dtype: torch.dtype, shift: Tensor,
                   pos_coef: Tensor, log_z: Tensor,
                   keys_grad: bool) -> tuple[Tensor, Optional[Tensor]]:
    """Gradients of ``sum_ij W_ij s_ij`` for the loss's ``W = dL/ds`` (``s`` = similarity / t).

    ``W_ij = exp(s_ij - shift_i)`` on the denominator entries (negatives, or every key but self
    for supcon) and, on positives, ``-pos_coef_i * sigmoid(log_z_i - s_ij)`` (contrastiveseg) or
    ``-pos_coef_i`` added (supcon).

    Returns ``(grad of the plan's anchors [n, D], grad of keys [M, D] or None)`` in ``dtype``.
    """
    a = _scaled_anchors(plan, anchors, temperature, dtype)
    blocks = plan.class_blocks()
    grad_a = torch.zeros_like(a)
    grad_k = keys.new_zeros(keys.shape, dtype=dtype) if keys_grad else None
    for j0, j1, chunk in _key_chunks(plan, keys, 0, plan.num_keys, chunk_size, dtype):
        s = a @ chunk.T
        overlaps = list(_overlaps(blocks, j0, j1))
        positives = []
        for r0, r1, c0, c1 in overlaps:
            if not supcon:
                gap = log_z[r0:r1].unsqueeze(1) - s[r0:r1, c0:c1]
                positives.append(-pos_coef[r0:r1].unsqueeze(1) * torch.sigmoid(gap))
                s[r0:r1, c0:c1] = float('-inf')
        _set_self(s, plan.self_pos, j0, float('-inf'))
        w = s.sub_(shift.unsqueeze(1)).exp_()
        for (r0, r1, c0, c1), block in zip(overlaps, positives):
            w[r0:r1, c0:c1] = block
        if supcon:
            for r0, r1, c0, c1 in overlaps:
                w[r0:r1, c0:c1] -= pos_coef[r0:r1].unsqueeze(1)
        _set_self(w, plan.self_pos, j0, 0.0)
        grad_a.addmm_(w, chunk)
        if grad_k is not None:
            rows = w.T @ a
            if plan.key_order is None:
                grad_k[j0:j1] = rows
            else:
                grad_k.index_copy_(0, plan.key_order[j0:j1], rows)
    return grad_a / temperature, grad_k
