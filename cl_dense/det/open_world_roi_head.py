"""ORE's unknown auto-labelling as pseudo ground truth: the top-k background proposals by RPN
objectness (among all proposals, before assignment and sampling) become "unknown" ground-truth
boxes, so every proposal on a picked object gets the unknown target."""
from typing import List

import torch
from mmdet.models.roi_heads import StandardRoIHead
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import BaseBoxes, get_box_tensor
from mmengine.structures import InstanceData

from .auto_label import select_unknown_proposals


def add_unknown_pseudo_gt(gt_instances: InstanceData, proposals: InstanceData, num_unknown: int,
                          iou_thr: float, unknown_label: int) -> InstanceData:
    """The known ground truth of one image plus its unknown pseudo ground truth.

    Args:
        gt_instances: ``bboxes [G, 4]`` (tensor or mmdet box type), ``labels [G]`` of the known
            objects.
        proposals: ``bboxes [P, 4]`` and ``scores [P]`` (the RPN objectness) of every proposal.
        num_unknown: k, pseudo boxes per image (fewer when fewer proposals qualify).
        iou_thr: a proposal with IoU >= this with some known box never qualifies.
        unknown_label: the label of the pseudo boxes.

    Returns:
        ``bboxes [G + k', 4]`` (same type as the input's), ``labels [G + k']``: the known boxes
        first, then the picks (detached), highest objectness first.
    """
    if 'scores' not in proposals:
        raise ValueError("unknown pseudo ground truth needs the proposals' RPN objectness in "
                         '`scores` (mmdet RPN heads provide it)')
    gt_boxes = get_box_tensor(gt_instances.bboxes)
    boxes = get_box_tensor(proposals.bboxes)
    picks = select_unknown_proposals(boxes, proposals.scores, gt_boxes, num_unknown, iou_thr)
    pseudo = boxes[picks].detach().to(gt_boxes.dtype)
    all_boxes = torch.cat([gt_boxes, pseudo])
    if isinstance(gt_instances.bboxes, BaseBoxes):
        all_boxes = type(gt_instances.bboxes)(all_boxes)
    labels = torch.cat([gt_instances.labels,
                        gt_instances.labels.new_full((len(picks),), unknown_label)])
    return InstanceData(bboxes=all_boxes, labels=labels)


@MODELS.register_module()
class OpenWorldRoIHead(StandardRoIHead):
    """mmdet's :class:`StandardRoIHead` whose training adds, per image, the ``num_unknown``
    proposals with the highest RPN objectness among those with IoU < ``unknown_iou_thr`` to every
    known ground truth as ground truth of class "unknown" (the bbox head's ``unknown_index``)
    before assignment: the assigner then gives every proposal overlapping a pick the unknown
    target, and a sampler with ``add_gt_as_proposals`` adds the pick itself. The caller's data
    samples are not changed. Prediction is :class:`StandardRoIHead`'s.

    Args:
        num_unknown: k (ORE: 1).
        unknown_iou_thr: the IoU bound with the known ground truth (ORE: 0.5).
        *args, **kwargs: :class:`StandardRoIHead`'s arguments (the bbox head must be an
            open-world head).
    """

    def __init__(self, *args, num_unknown: int = 1, unknown_iou_thr: float = 0.5, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if num_unknown < 0:
            raise ValueError(f'num_unknown must be >= 0, got {num_unknown}')
        if not hasattr(self.bbox_head, 'unknown_index'):
            raise ValueError('OpenWorldRoIHead needs an open-world bbox head (one with an '
                             f'"unknown" class), got {type(self.bbox_head).__name__}')
        self.num_unknown = num_unknown
        self.unknown_iou_thr = unknown_iou_thr

    def with_pseudo_gt(self, rpn_results_list: List[InstanceData],
                       batch_data_samples: List[DetDataSample]) -> List[DetDataSample]:
        """New data samples (same metainfo and ignored instances) whose ground truth has the
        unknown pseudo boxes appended."""
        samples = []
        for proposals, sample in zip(rpn_results_list, batch_data_samples):
            new = DetDataSample(metainfo=sample.metainfo)
            new.gt_instances = add_unknown_pseudo_gt(
                sample.gt_instances, proposals, self.num_unknown, self.unknown_iou_thr,
                self.bbox_head.unknown_index)
            if 'ignored_instances' in sample:
                new.ignored_instances = sample.ignored_instances
            samples.append(new)
        return samples

    def loss(self, x: tuple, rpn_results_list: List[InstanceData],
             batch_data_samples: List[DetDataSample]) -> dict:
        """:class:`StandardRoIHead`'s losses with the unknown pseudo ground truth added."""
        samples = self.with_pseudo_gt(rpn_results_list, batch_data_samples)
        losses = super().loss(x, rpn_results_list, samples)
        picks = sum(int((s.gt_instances.labels == self.bbox_head.unknown_index).sum())
                    for s in samples)
        losses['unknown_pseudo_gts'] = torch.tensor(float(picks), device=x[0].device)
        return losses


__all__ = ['OpenWorldRoIHead', 'add_unknown_pseudo_gt']
