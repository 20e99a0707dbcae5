"""Shared input handling of the pixel contrast losses: resizing, flattening and checks."""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from ..ops.validation import label_check, nonfinite, raise_on_flags


def labels_at(seg_labels: Tensor, size: Tuple[int, int]) -> Tensor:
    """Nearest-resize ground truth to the embedding size.

    With an image side ``s * h`` the label taken for embedding cell ``i`` is pixel ``s * i``, the
    first pixel of the stride-``s`` block the cell covers.

    Args:
        seg_labels: [N, H, W] or [N, 1, H, W] integer labels.
        size: embedding size (h, w).

    Returns:
        [N, h, w] long.
    """
    if seg_labels.dim() == 4 and seg_labels.shape[1] == 1:
        seg_labels = seg_labels[:, 0]
    if seg_labels.dim() != 3:
        raise ValueError(f'seg_labels must be [N, H, W] or [N, 1, H, W], got '
                         f'{tuple(seg_labels.shape)}')
    if tuple(seg_labels.shape[1:]) == tuple(size):
        return seg_labels.long()
    resized = F.interpolate(seg_labels[:, None].float(), size=size, mode='nearest')
    return resized[:, 0].long()


def predictions_at(seg_logits: Tensor, size: Tuple[int, int], threshold: float = 0.3) -> Tensor:
    """Predicted classes at the embedding size: logits resized bilinearly, then argmax.

    A single channel (K = 1, mmseg's binary ``out_channels=1`` heads) is a sigmoid logit: class 1
    where its sigmoid is > ``threshold``, the rule of mmseg's binary prediction
    (``BaseDecodeHead.threshold``, default 0.3).

    Args:
        seg_logits: [N, K, H', W'] decode-head logits or class scores (any float dtype; not
            differentiated).
        size: embedding size (h, w).
        threshold: foreground probability threshold of a single-channel head.

    Returns:
        [N, h, w] long.
    """
    if seg_logits.dim() != 4:
        raise ValueError(f'seg_logits must be [N, K, H, W], got {tuple(seg_logits.shape)}')
    logits = seg_logits.detach().float()
    if tuple(logits.shape[2:]) != tuple(size):
        logits = F.interpolate(logits, size=size, mode='bilinear', align_corners=False)
    if logits.shape[1] == 1:
        return (logits[:, 0].sigmoid() > threshold).long()
    return logits.argmax(dim=1)


def pixels_at_embedding_size(embeddings: Tensor, seg_labels: Tensor,
                             seg_logits: Optional[Tensor], num_classes: int,
                             ignore_index: int, threshold: float = 0.3
                             ) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
    """Checked embeddings with labels and predictions at their resolution.

    This is the one data check of a contrast loss call (one host synchronisation): the ops the
    losses call next run with ``validate=False``.

    Args:
        embeddings: [N, D, h, w] L2-normalised embeddings (bf16/fp16 are cast to float32); every
            entry must be finite, ignored pixels included (a NaN anywhere means the network
            diverged).
        seg_labels: [N, H, W] or [N, 1, H, W] ground truth at image resolution; at the
            embedding resolution the labels must lie in ``[0, num_classes)`` or equal
            ``ignore_index``.
        seg_logits: [N, K, H', W'] decode logits, or ``None``.
        threshold: foreground probability threshold when K = 1 (see :func:`predictions_at`).

    Returns:
        embeddings [N, D, h, w] float32, labels [N, h, w] long, preds [N, h, w] long or ``None``.

    Raises:
        ValueError: wrong shapes, labels out of range (naming them), non-finite embeddings.
    """
    if embeddings.dim() != 4:
        raise ValueError(f'embeddings must be [N, D, h, w], got {tuple(embeddings.shape)}')
    num, _, height, width = embeddings.shape
    if seg_labels.shape[0] != num or (seg_logits is not None and seg_logits.shape[0] != num):
        raise ValueError(f'batch sizes differ: embeddings {num}, seg_labels {seg_labels.shape[0]}'
                         + ('' if seg_logits is None else f', seg_logits {seg_logits.shape[0]}'))
    embeddings = embeddings.float()
    size = (height, width)
    labels = labels_at(seg_labels, size)
    raise_on_flags({**label_check(labels, num_classes, ignore_index),
                    'embeddings contain NaN or infinite values': nonfinite(embeddings)})
    preds = None if seg_logits is None else predictions_at(seg_logits, size, threshold)
    return embeddings, labels, preds
