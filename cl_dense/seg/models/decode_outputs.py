"""Dense class scores from what an mmseg decode head's training ``forward`` returned.

Most heads return their logits ``[N, K, h, w]``; some return several outputs in training, or
outputs that are not a per-pixel map. :func:`main_seg_logits` turns each into the one map the
head predicts with at inference (or ``None`` when there is none), for hard/easy anchor sampling.
"""
from typing import Any, Dict, Optional, Tuple, Type

import torch
from mmseg.models.decode_heads import (DDRHead, EncHead, IterativeDecodeHead, Mask2FormerHead,
                                       MaskFormerHead, PIDHead)
from torch import Tensor, nn

# Heads whose training forward returns a tuple/list of logits: the index of the main logits,
# i.e. of the output their inference forward / ``predict`` uses. Extend it for a custom head.
MAIN_OUTPUT_INDEX: Dict[Type[nn.Module], int] = {
    DDRHead: 0,              # (context logits, spatial logits); inference returns the context
    PIDHead: 1,              # (P, I, D branch logits); inference returns the integral branch
    IterativeDecodeHead: -1,  # K-Net: logits of every stage; inference returns the last
    EncHead: 0,              # (logits, SE-loss class scores) with use_se_loss
}
# Mask-classification heads: forward returns (class scores per decoder layer [N, Q, K + 1],
# mask logits per decoder layer [N, Q, h, w]) and the head computes its own (matching) loss.
MASK_CLASSIFICATION_HEADS: Tuple[Type[nn.Module], ...] = (Mask2FormerHead, MaskFormerHead)


def mask_classification_scores(cls_scores: Tensor, mask_logits: Tensor) -> Tensor:
    """Per-pixel class scores of a query-based head, as mmseg's ``Mask2FormerHead.predict``.

    ``scores[n, k] = sum_q softmax(cls_scores[n, q])[k] * sigmoid(mask_logits[n, q])`` (the
    "no object" class dropped), at the mask resolution.

    Args:
        cls_scores: [N, Q, K + 1] class logits of the queries.
        mask_logits: [N, Q, h, w] mask logits of the queries.

    Returns:
        [N, K, h, w] scores (argmax = the head's prediction at that resolution).
    """
    probs = cls_scores.softmax(dim=-1)[..., :-1]
    return torch.einsum('nqk,nqhw->nkhw', probs, mask_logits.sigmoid())


def _dense(output: Any, num: int) -> Optional[Tensor]:
    """``output`` when it is a per-pixel map [num, K, h, w], else ``None`` (e.g. point logits)."""
    if torch.is_tensor(output) and output.dim() == 4 and output.shape[0] == num:
        return output
    return None


def main_seg_logits(head: nn.Module, output: Any, num: int) -> Optional[Tensor]:
    """The per-pixel class scores [num, K, h, w] of a decode head's training forward output.

    Args:
        head: the decode head that produced ``output``.
        output: what ``head.forward`` returned in training mode.
        num: batch size N.

    Returns:
        The main logits (see ``MAIN_OUTPUT_INDEX``), per-pixel scores for mask-classification
        heads (:func:`mask_classification_scores` of the last decoder layer), or ``None`` when the
        output is a single tensor that is not a per-pixel map (PointRend's point logits
        [N, K, P]).

    Raises:
        TypeError: ``output`` is a tuple/list from a head not listed in ``MAIN_OUTPUT_INDEX``.
    """
    if isinstance(head, MASK_CLASSIFICATION_HEADS):
        cls_scores, mask_logits = output
        return mask_classification_scores(cls_scores[-1], mask_logits[-1])
    if isinstance(output, (tuple, list)):
        for head_cls, index in MAIN_OUTPUT_INDEX.items():
            if isinstance(head, head_cls):
                return _dense(output[index], num)
        raise TypeError(
            f'decode head {type(head).__name__} returns a {type(output).__name__} of '
            f'{len(output)} outputs in training and cl_dense does not know which one holds the '
            'main logits: add its class and index to '
            'cl_dense.seg.models.decode_outputs.MAIN_OUTPUT_INDEX')
    return _dense(output, num)
