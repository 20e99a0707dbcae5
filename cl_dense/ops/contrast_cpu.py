"""Chunked torch implementation of the supervised-contrast passes (the CPU backend).

Keys are streamed in chunks of ``chunk_size`` sorted key positions; each chunk's similarities
``S = (anchors / t) @ chunk^T`` (``[n, chunk]``, one reused buffer) are computed once in the
forward, which also accumulates the key sums the anchors' gradient needs, and once more in the
backward only when the keys require a gradient. Extra memory is O(n x chunk), never O(n x M).
Positives are class blocks (anchors and keys are both sorted by label, so a class is one
rectangle of ``S``) and the anchor itself, in self-contrast, is masked by one scatter of ``n``
entries.

Speed: when every ``|s|`` is at most ``EXP_BOUND`` (always for L2-normalised inputs and
``t >= 1 / EXP_BOUND``), ``exp(s)`` can neither overflow nor lose precision in float32, so no
running maximum is needed and per-anchor factors scale ``[n, D]`` operands instead of
``[n, chunk]`` ones: a forward chunk costs two matmuls, one in-place ``exp`` and one
matrix-vector sum. Otherwise the exact, shifted formulation runs.

Notation: ``n`` anchors of the plan, ``M'`` valid keys, ``s_ij`` anchor-key similarity / t.
"""
from collections.abc import Iterator
from typing import Optional

import torch
from torch import Tensor

from .contrast_plan import ContrastPlan, ForwardStats

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


class _SimilarityBuffer:
    """One ``[n, chunk]`` buffer reused for every chunk (fresh large allocations page-fault)."""

    def __init__(self, a: Tensor, chunk_size: int) -> None:
        self.a = a
        self.storage = a.new_empty(a.shape[0] * chunk_size)

    def __call__(self, chunk: Tensor) -> Tensor:
        """``S = a @ chunk^T``, ``[n, len(chunk)]``, valid until the next call."""
        out = self.storage[:self.a.shape[0] * chunk.shape[0]].view(self.a.shape[0], -1)
        return torch.mm(self.a, chunk.T, out=out)


class _DenominatorSums:
    """Row-wise ``log sum_j exp(s_ij)`` over column chunks and, optionally, the exp-weighted key
    sum ``U_i = sum_j exp(s_ij - m_i) k_j`` (flash-attention style rescaling by the running
    maximum ``m``; ``m = 0`` throughout when ``bounded``).
    """

    def __init__(self, n: int, like: Tensor, bounded: bool, with_keys: bool) -> None:
        self.bounded = bounded
        self.max = like.new_zeros(n) if bounded else like.new_full((n,), float('-inf'))
        self.sum = like.new_zeros(n)
        self.keys = like.new_zeros((n, like.shape[1])) if with_keys else None

    def update(self, s: Tensor, chunk: Tensor) -> None:
        """Fold in ``s [n, chunk]`` (overwritten; ``-inf`` entries take no part) of ``chunk``."""
        if self.bounded:
            s.exp_()
        else:
            new_max = torch.maximum(self.max, s.amax(1))
            shift = _finite_or_zero(new_max)
            s.sub_(shift.unsqueeze(1)).exp_()
            rescale = torch.exp(self.max - shift)
            self.sum *= rescale
            if self.keys is not None:
                self.keys *= rescale.unsqueeze(1)
            self.max = new_max
        self.sum += s.sum(1)
        if self.keys is not None:
            self.keys.addmm_(s, chunk)

    def log_sum(self) -> Tensor:
        """``log sum exp`` per row, ``-inf`` for rows that saw no finite entry."""
        return torch.log(self.sum) + self.shift()

    def shift(self) -> Tensor:
        """``m``, the shift of ``keys`` (0 where nothing was seen)."""
        return _finite_or_zero(self.max)


def _softplus(x: Tensor) -> Tensor:
    """``log(1 + exp(x))`` as ``max(x, 0) + log1p(exp(-|x|))`` with
    ``log1p(y) = log(u) - ((u - 1) - y) / u``, ``u = 1 + y`` (exact to rounding, also for tiny y).

    Kept because ``tools/analysis_tools/benchmark_micro_ops.py`` measured it 1.9x (``[1024, 8192]``)
    to 3.1x (``[54, 10000]``, a class block of the positive pass) faster than ``F.softplus`` on the
    2-core x86_64 development machine (torch 2.14.1, 2026-12-03). The ratio depends on the CPU's
    vector units: rerun the script on yours; where ``F.softplus`` wins, replace this.
    """
    y = torch.exp(x.abs().neg_())
    u = y + 1
    return torch.log(u).sub_(((u - 1).sub_(y)).div_(u)).add_(x.clamp(min=0))


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
                  supcon: bool, chunk_size: int, dtype: torch.dtype,
                  with_keys: bool) -> ForwardStats:
    """Per-anchor statistics of the loss (``ForwardStats``); the key sums when ``with_keys``."""
    a = _scaled_anchors(plan, anchors, temperature, dtype)
    blocks = plan.class_blocks()
    similarity = _SimilarityBuffer(a, min(chunk_size, plan.num_keys))
    sums = _DenominatorSums(plan.num_anchors, a, _is_bounded(a, keys, chunk_size), with_keys)
    pos_term = a.new_zeros(plan.num_anchors)
    pos_keys = torch.zeros_like(a) if with_keys else None
    for j0, j1, chunk in _key_chunks(plan, keys, 0, plan.num_keys, chunk_size, dtype):
        s = similarity(chunk)
        for r0, r1, c0, c1 in _overlaps(blocks, j0, j1):
            if supcon:
                pos_term[r0:r1] += s[r0:r1, c0:c1].sum(1)
                if pos_keys is not None:
                    pos_keys[r0:r1] += chunk[c0:c1].sum(0)
            else:
                s[r0:r1, c0:c1] = float('-inf')
        if supcon:
            _set_self(s, plan.self_pos, j0, float('-inf'))
        sums.update(s, chunk)
    log_z = sums.log_sum()
    if supcon:
        pos_weight = torch.zeros_like(log_z)
        if plan.self_pos is not None:
            own = keys.index_select(0, plan.anchor_index).to(dtype)
            pos_term -= (a * own).sum(1)
            if pos_keys is not None:
                pos_keys -= own
    else:
        pos_term, pos_weight = _positive_pass(plan, a, keys, log_z, blocks, chunk_size, dtype,
                                              pos_keys)
    return ForwardStats(log_z=log_z, pos_term=pos_term, pos_weight=pos_weight,
                        row_max=sums.shift(), exp_keys=sums.keys, pos_keys=pos_keys)


def _positive_pass(plan: ContrastPlan, a: Tensor, keys: Tensor, log_z: Tensor,
                   blocks: list[Block], chunk_size: int, dtype: torch.dtype,
                   pos_keys: Optional[Tensor]) -> tuple[Tensor, Tensor]:
    """contrastiveseg: ``sum_p softplus(gap)`` and ``sum_p sigmoid(gap)``, ``gap = log_z - s_ip``,
    each ``[n]``; adds ``sum_p sigmoid(gap) k_p`` to ``pos_keys`` when given."""
    softplus, sigmoid = torch.zeros_like(log_z), torch.zeros_like(log_z)
    for r0, r1, k0, k1 in blocks:
        rows = slice(r0, r1)
        self_pos = None if plan.self_pos is None else plan.self_pos[rows]
        # as many entries per step as a main chunk: one step per class in practice
        step = chunk_size * max(1, plan.num_anchors // (r1 - r0))
        for j0, _, chunk in _key_chunks(plan, keys, k0, k1, step, dtype):
            gap = torch.addmm(log_z[rows].unsqueeze(1), a[rows], chunk.T, alpha=-1)
            _set_self(gap, self_pos, j0, float('-inf'))
            softplus[rows] += _softplus(gap).sum(1)
            weight = torch.sigmoid(gap)
            sigmoid[rows] += weight.sum(1)
            if pos_keys is not None:
                pos_keys[rows].addmm_(weight, chunk)
    return softplus, sigmoid


def _positive_weights(s: Tensor, log_z: Tensor, pos_coef: Tensor, self_pos: Optional[Tensor],
                      j0: int, supcon: bool) -> Tensor:
    """``dL/ds`` of the positives' own terms on one class block ``s [r, c]`` (self is 0)."""
    if supcon:
        w = (-pos_coef).unsqueeze(1).expand_as(s).clone()
    else:
        w = -pos_coef.unsqueeze(1) * torch.sigmoid(log_z.unsqueeze(1) - s)
    _set_self(w, self_pos, j0, 0.0)
    return w


def backward_keys(plan: ContrastPlan, anchors: Tensor, keys: Tensor, temperature: float,
                  supcon: bool, chunk_size: int, dtype: torch.dtype, shift: Tensor,
                  pos_coef: Tensor, log_z: Tensor) -> Tensor:
    """Keys' gradient ``dK_j = sum_i W_ij a_i / t`` of the loss, ``[M, D]`` in ``dtype``.

    ``W_ij = dL/ds_ij = exp(s_ij - shift_i)`` on the denominator entries (negatives, or every key
    but self for supcon) plus, on positives, ``-pos_coef_i * sigmoid(log_z_i - s_ij)``
    (contrastiveseg) or ``-pos_coef_i`` (supcon). The similarities are recomputed chunk by chunk;
    the exponential part is ``exp(s_ij - base_i) * factor_i`` with ``base = 0`` when bounded
    (``factor`` then scales the ``[n, D]`` anchors instead of each ``[n, chunk]`` block).
    """
    a = _scaled_anchors(plan, anchors, temperature, dtype)
    blocks = plan.class_blocks()
    bounded = _is_bounded(a, keys, chunk_size)
    base = torch.zeros_like(shift) if bounded else _finite_or_zero(shift)
    a_weighted = a * torch.exp(base - shift).unsqueeze(1)
    similarity = _SimilarityBuffer(a, min(chunk_size, plan.num_keys))
    grad_k = keys.new_zeros(keys.shape, dtype=dtype)
    for j0, j1, chunk in _key_chunks(plan, keys, 0, plan.num_keys, chunk_size, dtype):
        s = similarity(chunk)
        positives = []
        for r0, r1, c0, c1 in _overlaps(blocks, j0, j1):
            self_pos = None if plan.self_pos is None else plan.self_pos[r0:r1]
            positives.append((r0, r1, c0, c1, _positive_weights(
                s[r0:r1, c0:c1], log_z[r0:r1], pos_coef[r0:r1], self_pos, j0 + c0, supcon)))
            if not supcon:
                s[r0:r1, c0:c1] = float('-inf')
        _set_self(s, plan.self_pos, j0, float('-inf'))
        if not bounded:
            s.sub_(base.unsqueeze(1))
        rows = s.exp_().T @ a_weighted
        for r0, r1, c0, c1, w in positives:
            rows[c0:c1].addmm_(w.T, a[r0:r1])
        if plan.key_order is None:
            grad_k[j0:j1] = rows
        else:
            grad_k.index_copy_(0, plan.key_order[j0:j1], rows)
    return grad_k
