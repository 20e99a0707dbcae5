"""Chunked torch implementation of the supervised-contrast passes (the CPU backend).

Keys are streamed in chunks of ``chunk_size`` sorted key positions; each chunk's similarities
``S = (anchors / t) @ chunk^T`` (``[n, chunk]``, one reused buffer) are recomputed where needed
(the backward never reads a stored ``[n, M]`` matrix), so the extra memory is O(n x chunk).
Positives are class blocks (anchors and keys are both sorted by label, so a class is one rectangle
of ``S``) and the anchor itself, in self-contrast, is masked by one scatter of ``n`` entries.

Speed: when every ``|s|`` is at most ``EXP_BOUND`` (always for L2-normalised inputs and
``t >= 1 / EXP_BOUND``), ``exp(s)`` cannot overflow or lose precision in float32, so the
logsumexp needs no running maximum and the backward's per-anchor shift ``exp(-shift_i)`` is
applied to ``[n, D]`` operands instead of ``[n, chunk]`` ones: each chunk costs one matmul and
one in-place ``exp`` (plus a matrix-vector sum forward, a second matmul backward). Otherwise the
exact, shifted formulation runs.

Notation: ``n`` anchors of the plan, ``M'`` valid keys, ``s_ij`` anchor-key similarity / t.
"""
from collections.abc import Iterator
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .contrast_plan import ContrastPlan

Block = tuple[int, int, int, int]
EXP_BOUND = 40.0


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


def _overlaps(blocks: list[Block], j0: int, j1: int) -> list[Block]:
    """Class blocks cut to key positions ``[j0, j1)``: ``(r0, r1, c0, c1)``, columns local."""
    cut = []
    for r0, r1, k0, k1 in blocks:
        c0, c1 = max(k0, j0), min(k1, j1)
        if c0 < c1:
            cut.append((r0, r1, c0 - j0, c1 - j0))
    return cut


def _set_self(s: Tensor, self_pos: Optional[Tensor], j0: int, value: float) -> None:
    """Set ``s[r, self_pos[r] - j0] = value`` for the rows whose own key lies in ``s``'s columns."""
    if self_pos is None:
        return
    local = self_pos - j0
    inside = (local >= 0) & (local < s.shape[1])
    local = local.clamp(0, s.shape[1] - 1).unsqueeze(1)
    current = s.gather(1, local)
    s.scatter_(1, local, torch.where(inside.unsqueeze(1), torch.full_like(current, value), current))


def _row_sum(x: Tensor) -> Tensor:
    """``x.sum(1)`` as a matrix-vector product (several times faster on the CPU)."""
    return x @ x.new_ones(x.shape[1])


class _SimilarityBuffer:
    """One ``[n, chunk]`` buffer reused for every chunk (fresh large allocations page-fault)."""

    def __init__(self, a: Tensor, chunk_size: int) -> None:
        self.a = a
        self.storage = a.new_empty(a.shape[0] * chunk_size)

    def __call__(self, chunk: Tensor) -> Tensor:
        """``S = a @ chunk^T``, ``[n, len(chunk)]``, valid until the next call."""
        out = self.storage[:self.a.shape[0] * chunk.shape[0]].view(self.a.shape[0], -1)
        return torch.mm(self.a, chunk.T, out=out)


class _LogSumExp:
    """Row-wise logsumexp over column chunks without keeping them: ``[n]``.

    ``bounded``: entries are at most ``EXP_BOUND`` in magnitude, so plain ``exp`` sums are exact;
    otherwise a running maximum shifts each chunk.
    """

    def __init__(self, n: int, like: Tensor, bounded: bool) -> None:
        self.bounded = bounded
        self.max = torch.full((n,), float('-inf'), dtype=like.dtype, device=like.device)
        self.sum = torch.zeros(n, dtype=like.dtype, device=like.device)

    def update(self, s: Tensor) -> None:
        """Fold in ``s [n, chunk]`` (overwritten)."""
        if self.bounded:
            self.sum += _row_sum(s.exp_())
            return
        new_max = torch.maximum(self.max, s.amax(1))
        shift = _finite_or_zero(new_max)
        s.sub_(shift.unsqueeze(1)).exp_()
        self.sum = self.sum * torch.exp(self.max - shift) + _row_sum(s)
        self.max = new_max

    def result(self) -> Tensor:
        """``log sum exp`` per row, ``-inf`` for rows that saw no finite entry."""
        if self.bounded:
            return torch.log(self.sum)
        return torch.log(self.sum) + _finite_or_zero(self.max)


def _finite_or_zero(x: Tensor) -> Tensor:
    return torch.where(torch.isfinite(x), x, torch.zeros_like(x))


def _max_row_norm(x: Tensor, chunk_size: int, dtype: torch.dtype) -> float:
    """Largest L2 norm of a row of ``x [N, D]``, computed chunk by chunk in ``dtype``."""
    norms = [torch.linalg.vector_norm(x[i:i + chunk_size].to(dtype), dim=1).amax()
             for i in range(0, x.shape[0], chunk_size)]
    return float(torch.stack(norms).amax()) if norms else 0.0


def _is_bounded(a: Tensor, keys: Tensor, chunk_size: int) -> bool:
    """Every ``|s_ij| = |a_i . k_j|`` is at most ``EXP_BOUND`` (Cauchy-Schwarz)."""
    return _max_row_norm(a, chunk_size, a.dtype) * _max_row_norm(keys, chunk_size, a.dtype) \
        <= EXP_BOUND


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
    similarity = _SimilarityBuffer(a, min(chunk_size, plan.num_keys))
    lse = _LogSumExp(plan.num_anchors, a, _is_bounded(a, keys, chunk_size))
    pos_term = a.new_zeros(plan.num_anchors)
    for j0, j1, chunk in _key_chunks(plan, keys, 0, plan.num_keys, chunk_size, dtype):
        s = similarity(chunk)
        for r0, r1, c0, c1 in _overlaps(blocks, j0, j1):
            if supcon:
                pos_term[r0:r1] += _row_sum(s[r0:r1, c0:c1])
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
            pos_term[rows] += _row_sum(F.softplus(gap))
            pos_weight[rows] += _row_sum(torch.sigmoid(gap))
    return log_z, pos_term, pos_weight


def _positive_weights(s: Tensor, log_z: Tensor, pos_coef: Tensor, self_pos: Optional[Tensor],
                      j0: int, supcon: bool) -> Tensor:
    """``dL/ds`` of the positives' own terms on one class block ``s [r, c]`` (self is 0)."""
    if supcon:
        w = (-pos_coef).unsqueeze(1).expand_as(s).clone()
    else:
        w = -pos_coef.unsqueeze(1) * torch.sigmoid(log_z.unsqueeze(1) - s)
    _set_self(w, self_pos, j0, 0.0)
    return w


def backward_grads(plan: ContrastPlan, anchors: Tensor, keys: Tensor, temperature: float,
                   supcon: bool, chunk_size: int, dtype: torch.dtype, shift: Tensor,
                   pos_coef: Tensor, log_z: Tensor,
                   keys_grad: bool) -> tuple[Tensor, Optional[Tensor]]:
    """Gradients of ``sum_ij W_ij s_ij`` for the loss's ``W = dL/ds`` (``s`` = similarity / t).

    ``W_ij = exp(s_ij - shift_i)`` on the denominator entries (negatives, or every key but self
    for supcon) plus, on positives, ``-pos_coef_i * sigmoid(log_z_i - s_ij)`` (contrastiveseg) or
    ``-pos_coef_i`` (supcon). The exponential part is ``factor_i * exp(s_ij - base_i)`` with
    ``base = 0`` when bounded (the factor then scales ``[n, D]`` operands) and ``base = shift``
    otherwise.

    Returns ``(grad of the plan's anchors [n, D], grad of keys [M, D] or None)`` in ``dtype``.
    """
    a = _scaled_anchors(plan, anchors, temperature, dtype)
    blocks = plan.class_blocks()
    bounded = _is_bounded(a, keys, chunk_size)
    base = torch.zeros_like(shift) if bounded else _finite_or_zero(shift)
    factor = torch.exp(base - shift).unsqueeze(1)
    a_weighted = a * factor
    similarity = _SimilarityBuffer(a, min(chunk_size, plan.num_keys))
    exp_part = torch.zeros_like(a)
    grad_a = torch.zeros_like(a)
    grad_k = keys.new_zeros(keys.shape, dtype=dtype) if keys_grad else None
    for j0, j1, chunk in _key_chunks(plan, keys, 0, plan.num_keys, chunk_size, dtype):
        s = similarity(chunk)
        positives = []
        for r0, r1, c0, c1 in _overlaps(blocks, j0, j1):
            self_pos = None if plan.self_pos is None else plan.self_pos[r0:r1]
            w = _positive_weights(s[r0:r1, c0:c1], log_z[r0:r1], pos_coef[r0:r1], self_pos,
                                  j0 + c0, supcon)
            grad_a[r0:r1].addmm_(w, chunk[c0:c1])
            positives.append((r0, r1, c0, c1, w))
            if not supcon:
                s[r0:r1, c0:c1] = float('-inf')
        _set_self(s, plan.self_pos, j0, float('-inf'))
        if not bounded:
            s.sub_(base.unsqueeze(1))
        s.exp_()
        exp_part.addmm_(s, chunk)
        if grad_k is not None:
            rows = s.T @ a_weighted
            for r0, r1, c0, c1, w in positives:
                rows[c0:c1].addmm_(w.T, a[r0:r1])
            if plan.key_order is None:
                grad_k[j0:j1] = rows
            else:
                grad_k.index_copy_(0, plan.key_order[j0:j1], rows)
    grad_a.addcmul_(exp_part, factor)
    return grad_a / temperature, grad_k
