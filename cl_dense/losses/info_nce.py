"""InfoNCE of queries against their positive keys and a key queue (MoCo / DetCo), streamed.

With ``s_ij = q_i . k_j / t`` over the ``N`` batch keys and ``s_in = q_i . n / t`` over the
``K`` queue entries::

    L = 1/N sum_i -log( exp(s_ii) / (exp(s_ii) + sum_{j != i} exp(s_ij) + sum_n exp(s_in)) )

Computed by :func:`cl_dense.ops.supervised_contrast` (``denominator='contrastiveseg'``): the
anchors are the queries labelled with their instance ids ``0..N-1``, the keys are the batch keys
(label = own instance id) followed by the queue (label ``N``, which no anchor has). The
``[N, N + K]`` logits matrix is never built (the queue is streamed in chunks).

Our choice, documented in docs/detco.md: the other samples' batch keys are negatives too, as in
MoCo v3 and SimCLR-style in-batch contrast, where MoCo v1/v2 use the queue alone. The ``N - 1``
extra negatives are the keys that are enqueued right after the step, so they are the freshest
queue entries a step early; with ``N = 1`` (or ``K >> N``) the loss is MoCo's.
"""
from typing import Optional

import torch
from torch import Tensor, nn

from ..ops import supervised_contrast
from .registry import register_loss


def info_nce(query: Tensor, key: Tensor, negatives: Optional[Tensor], temperature: float,
             chunk_size: int = 8192) -> Tensor:
    """InfoNCE of ``query [N, D]`` against ``key [N, D]`` (row i is query i's positive), the other
    rows of ``key`` and ``negatives [K, D]`` (a queue; ``None`` or ``K = 0`` for none).

    All inputs L2-normalised by the caller, same dtype and device. Returns a 0-d float32 loss
    (float64 for float64 inputs); a zero loss with a gradient path when ``N = 0``.
    """
    if query.dim() != 2 or key.shape != query.shape:
        raise ValueError(f'query and key must both be [N, D] with the same shape, got '
                         f'{tuple(query.shape)} and {tuple(key.shape)}')
    if negatives is not None and (negatives.dim() != 2 or negatives.shape[1] != query.shape[1]):
        raise ValueError(f'negatives must be [K, {query.shape[1]}], got '
                         f'{tuple(negatives.shape)}')
    num = query.shape[0]
    ids = torch.arange(num, device=query.device)
    keys, key_labels = key, ids
    if negatives is not None and negatives.shape[0] > 0:
        keys = torch.cat([key, negatives.to(key.dtype)])
        key_labels = torch.cat([ids, ids.new_full((negatives.shape[0],), num)])
    # ignore_index=-1: no instance id or queue label is ever ignored
    return supervised_contrast(query, ids, keys, key_labels, temperature,
                               denominator='contrastiveseg', ignore_index=-1,
                               chunk_size=chunk_size)


@register_loss
class InfoNCELoss(nn.Module):
    """:func:`info_nce` as a module (van den Oord et al. 2018; MoCo, He et al. CVPR 2020).

    Args:
        temperature: ``t`` (0.2 in MoCo v2 and DetCo).
        loss_weight: factor on the loss.
        chunk_size: queue entries streamed per step.

    Forward: ``query [N, D]``, ``key [N, D]``, ``negatives [K, D]`` or ``None`` -> 0-d loss.
    """

    def __init__(self, temperature: float = 0.2, loss_weight: float = 1.0,
                 chunk_size: int = 8192) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        self.temperature = temperature
        self.loss_weight = loss_weight
        self.chunk_size = chunk_size

    def forward(self, query: Tensor, key: Tensor, negatives: Optional[Tensor] = None) -> Tensor:
        dtype = torch.float64 if query.dtype == torch.float64 else torch.float32
        with torch.autocast(query.device.type, enabled=False):
            negatives = None if negatives is None else negatives.to(dtype)
            loss = info_nce(query.to(dtype), key.to(dtype), negatives, self.temperature,
                            self.chunk_size)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return f'temperature={self.temperature}, loss_weight={self.loss_weight}'
