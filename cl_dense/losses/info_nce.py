"""InfoNCE of queries against a key set holding one positive per query (MoCo / DetCo), streamed.

With ``s_ij = q_i . k_j / t`` over the ``M`` keys and ``p_i`` the index of query i's positive::

    L = 1/N sum_i -log( exp(s_i,p_i) / sum_j exp(s_ij) )

i.e. cross-entropy over ``[N, M]`` logits with targets ``p``, computed by
:func:`cl_dense.ops.supervised_contrast` (``denominator='contrastiveseg'``) without building the
logits: each positive key gets a label of its own (its query's), every other key a label no query
has. The labels are made ascending along the keys, so the op streams the keys in place (no sort,
no gather, no copy): ``keys`` can be a view of a queue buffer.

MoCo-style use (our choice, documented in docs/detco.md): enqueue the batch's keys first, then
contrast against the queue, with ``p`` the slots the batch's keys were written to. The negatives
are then the older queue entries *and the other samples' current keys* (of every rank), as in
MoCo v3 / SimCLR in-batch contrast, where MoCo v1/v2 use only the queue from before the step;
with one sample per step the two coincide (``tests/losses/test_info_nce.py``).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ..ops import supervised_contrast
from .precision import float32_maths
from .registry import register_loss


def positive_labels(num_keys: int, positives: Tensor) -> tuple[Tensor, Tensor]:
    """Labels that make ``positives [N]`` (distinct key indices) the only positives.

    Returns ``(query_labels [N], key_labels [M])``, key labels non-decreasing along the keys:
    each positive key starts a label of its own, each run of other keys after it another one.
    """
    is_pos = torch.zeros(num_keys, dtype=torch.bool, device=positives.device)
    is_pos[positives] = True
    starts = is_pos.clone()
    starts[1:] |= is_pos[:-1]  # a run of negatives right after a positive gets a new label
    key_labels = starts.long().cumsum(0)
    return key_labels[positives], key_labels


def check_info_nce(query: Tensor, keys: Tensor, positives: Tensor) -> None:
    """Shapes and positive indices (one host synchronisation)."""
    if query.dim() != 2 or keys.dim() != 2 or keys.shape[1] != query.shape[1]:
        raise ValueError(f'query must be [N, D] and keys [M, D], got {tuple(query.shape)} and '
                         f'{tuple(keys.shape)}')
    if positives.shape != (query.shape[0],) or positives.dtype != torch.long:
        raise ValueError(f'positives must be int64 [{query.shape[0]}], got {positives.dtype} '
                         f'{tuple(positives.shape)}')
    if positives.numel() and (int(positives.min()) < 0 or int(positives.max()) >= keys.shape[0]
                              or positives.unique().numel() != positives.numel()):
        raise ValueError(f'positives must be distinct indices into the {keys.shape[0]} keys')


def info_nce(query: Tensor, keys: Tensor, positives: Tensor, temperature: float,
             chunk_size: int = 8192) -> Tensor:
    """InfoNCE of ``query [N, D]`` against ``keys [M, D]``, ``keys[positives[i]]`` being query
    i's positive and every other key a negative.

    All L2-normalised by the caller, same dtype and device. Returns a 0-d float32 loss (float64
    for float64 inputs); zero with a gradient path when ``N = 0``.
    """
    check_info_nce(query, keys, positives)
    query_labels, key_labels = positive_labels(keys.shape[0], positives)
    # ignore_index=-1: no label is ever ignored
    return supervised_contrast(query, query_labels, keys, key_labels, temperature,
                               denominator='contrastiveseg', ignore_index=-1,
                               chunk_size=chunk_size)


@register_loss
class InfoNCELoss(nn.Module):
    """:func:`info_nce` as a module (van den Oord et al. 2018; MoCo, He et al. CVPR 2020).

    Args:
        temperature: ``t`` (0.2 in MoCo v2 and DetCo).
        loss_weight: factor on the loss.
        chunk_size: keys streamed per step.

    Forward: ``query [N, D]``, ``keys [M, D]``, ``positives [N]`` int64 -> 0-d loss (float32,
    also under autocast).
    """

    def __init__(self, temperature: float = 0.2, loss_weight: float = 1.0,
                 chunk_size: int = 8192) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        self.temperature = temperature
        self.loss_weight = loss_weight
        self.chunk_size = chunk_size

    @float32_maths
    def forward(self, query: Tensor, keys: Tensor, positives: Tensor) -> Tensor:
        return self.loss_weight * info_nce(query, keys.to(query.dtype), positives,
                                           self.temperature, self.chunk_size)

    def extra_repr(self) -> str:
        return f'temperature={self.temperature}, loss_weight={self.loss_weight}'
