"""mmcv's ``nms`` on torchvision's kernel.

mmcv's ``offset`` (0, or 1 for the legacy "+1" box widths) is exact on torchvision's kernel by
widening every box by ``offset``: areas ``(x2 - x1 + offset)(y2 - y1 + offset)`` and overlaps
``min(x2) - max(x1) + offset`` are then what mmcv computes.
"""
import torch
from torch import Tensor
from torchvision.ops import nms as torchvision_nms


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float, offset: int = 0) -> Tensor:
    """Indices [M] (int64) of the boxes [N, 4] (x1, y1, x2, y2) kept by greedy NMS at
    ``iou_threshold``, in decreasing score order (scores [N])."""
    if offset not in (0, 1):
        raise ValueError(f'nms: offset must be 0 or 1, got {offset}')
    if boxes.numel() == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    if offset:
        boxes = boxes.clone()
        boxes[:, 2:] += offset
    return torchvision_nms(boxes, scores.to(boxes.dtype), float(iou_threshold))
