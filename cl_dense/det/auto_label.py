"""ORE's unknown auto-labelling: background proposals with the highest RPN objectness become
"unknown" training targets. :func:`select_unknown_proposals` makes the pick; the configs use it
through :class:`~cl_dense.det.open_world_roi_head.OpenWorldRoIHead` (pseudo ground truth chosen
among all proposals). :class:`UnknownAutoLabelSampler` is the pre-fix form (the pick among the
sampled negatives only, one RoI per pick), kept to reproduce earlier results."""
from typing import Optional

import torch
from mmdet.models.task_modules.samplers import RandomSampler, SamplingResult
from mmdet.registry import TASK_UTILS
from mmdet.structures.bbox import get_box_tensor
from mmengine.structures import InstanceData
from torch import Tensor
from torchvision.ops import box_iou


def select_unknown_proposals(boxes: Tensor, objectness: Tensor, gt_boxes: Tensor, k: int = 1,
                             iou_thr: float = 0.5) -> Tensor:
    """Indices of the ``k`` boxes with the highest objectness among those whose IoU with every
    ground-truth box is below ``iou_thr``.

    Args:
        boxes: [P, 4] candidate boxes (x1, y1, x2, y2).
        objectness: [P] RPN objectness (any monotone score).
        gt_boxes: [G, 4] known ground truth (G may be 0).
        k: picks per call (fewer when fewer boxes qualify).
        iou_thr: a box with IoU >= this with some ground truth never qualifies.

    Returns:
        [min(k, qualifying)] int64 indices into ``boxes``, highest objectness first (ties: lower
        index first).
    """
    if boxes.dim() != 2 or boxes.shape[-1] != 4:
        raise ValueError(f'boxes must be [P, 4], got {tuple(boxes.shape)}')
    if objectness.shape != boxes.shape[:1]:
        raise ValueError(f'objectness must be [{boxes.shape[0]}], got {tuple(objectness.shape)}')
    if k < 0:
        raise ValueError(f'k must be >= 0, got {k}')
    qualifies = torch.ones(boxes.shape[0], dtype=torch.bool, device=boxes.device)
    if gt_boxes.numel():
        qualifies = box_iou(boxes.float(), gt_boxes.float()).max(1).values < iou_thr
    candidates = qualifies.nonzero().squeeze(1)
    order = torch.sort(objectness[candidates], descending=True, stable=True).indices
    return candidates[order[:k]]


@TASK_UTILS.register_module()
class UnknownAutoLabelSampler(RandomSampler):
    """Legacy (pre-fix) auto-labelling; use :class:`OpenWorldRoIHead` instead.

    mmdet's :class:`RandomSampler` that also picks, per image, the ``num_unknown`` sampled
    negatives with the highest RPN objectness among those with IoU < ``unknown_iou_thr`` to every
    (known) ground truth, for the open-world bbox head to label "unknown".

    The picks are stored on the returned :class:`SamplingResult` as ``unknown_neg_inds``
    (positions within ``neg_priors``). The RPN objectness comes from the proposals'
    ``scores`` (what mmdet's RPN head returns with its proposals).

    Args:
        num_unknown: k, picks per image (ORE: 1).
        unknown_iou_thr: the IoU bound (ORE: 0.5).
        **kwargs: :class:`RandomSampler`'s arguments (``num``, ``pos_fraction``, ...).
    """

    def __init__(self, num_unknown: int = 1, unknown_iou_thr: float = 0.5, **kwargs) -> None:
        super().__init__(**kwargs)
        if num_unknown < 0:
            raise ValueError(f'num_unknown must be >= 0, got {num_unknown}')
        self.num_unknown = num_unknown
        self.unknown_iou_thr = unknown_iou_thr

    def sample(self, assign_result, pred_instances: InstanceData, gt_instances: InstanceData,
               **kwargs) -> SamplingResult:
        result = super().sample(assign_result, pred_instances, gt_instances, **kwargs)
        scores: Optional[Tensor] = pred_instances.get('scores')
        if scores is None:
            raise ValueError('UnknownAutoLabelSampler needs the proposals\' RPN objectness in '
                             '`scores` (mmdet RPN heads provide it)')
        gt_boxes = get_box_tensor(gt_instances.bboxes)
        # the sampler put the ground truth in front of the proposals; those are always positives
        offset = gt_boxes.shape[0] if self.add_gt_as_proposals else 0
        neg_scores = scores[result.neg_inds - offset]
        result.unknown_neg_inds = select_unknown_proposals(
            get_box_tensor(result.neg_priors), neg_scores, gt_boxes, self.num_unknown,
            self.unknown_iou_thr)
        return result
