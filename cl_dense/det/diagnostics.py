"""Where an open-world detector loses its unknowns before the classifier: proposal recall on
unknown objects, and how many unknown pseudo-labels the auto-labeller puts on real unknown
objects (checked with annotations that training never sees)."""
from __future__ import annotations

from typing import Iterable, Optional

import torch
from mmdet.structures.bbox import get_box_tensor, scale_boxes
from torch import Tensor
from torchvision.ops import box_iou

from .auto_label import select_unknown_proposals


def input_scale_gt(sample) -> tuple[Tensor, Tensor]:
    """``(boxes [G, 4], labels [G])`` of a test-pipeline data sample (ground truth in original
    image coordinates) at the network input's scale (that of ``rescale=False`` proposals)."""
    boxes = scale_boxes(get_box_tensor(sample.gt_instances.bboxes), sample.metainfo['scale_factor'])
    return boxes, sample.gt_instances.labels


def covered(gt_boxes: Tensor, boxes: Tensor, iou_thr: float = 0.5) -> Tensor:
    """[G] bool: ground truths [G, 4] that some box of ``boxes`` [P, 4] overlaps with IoU >=
    ``iou_thr``."""
    if len(gt_boxes) == 0 or len(boxes) == 0:
        return torch.zeros(len(gt_boxes), dtype=torch.bool, device=gt_boxes.device)
    return box_iou(gt_boxes.float(), boxes.float()).max(1).values >= iou_thr


def proposal_recall_counts(proposals: Tensor, gt_boxes: Tensor, gt_labels: Tensor,
                           unknown_index: int, iou_thr: float = 0.5) -> tuple[int, int]:
    """``(unknown objects with a proposal of IoU >= iou_thr, unknown objects)`` of one image.

    Args:
        proposals: [P, 4]; gt_boxes: [G, 4]; gt_labels: [G] (``unknown_index`` = unknown).
    """
    unknown = gt_labels == unknown_index
    return int(covered(gt_boxes[unknown], proposals, iou_thr).sum()), int(unknown.sum())


def pseudo_label_hit_counts(proposals: Tensor, scores: Tensor, gt_boxes: Tensor, gt_labels: Tensor,
                            unknown_index: int, num_unknown: int = 1,
                            iou_thr: float = 0.5) -> tuple[int, int]:
    """``(picks with IoU >= iou_thr to a real unknown object, picks)`` of one image: the
    auto-labeller's picks (:func:`select_unknown_proposals` against the *known* ground truth
    only, as in training) checked against the unknown ground truth that training never sees.

    Args:
        proposals: [P, 4]; scores: [P] their objectness; gt_boxes: [G, 4]; gt_labels: [G].
    """
    unknown = gt_labels == unknown_index
    picks = select_unknown_proposals(proposals, scores, gt_boxes[~unknown], num_unknown, iou_thr)
    hits = covered(proposals[picks], gt_boxes[unknown], iou_thr)
    return int(hits.sum()), len(picks)


@torch.no_grad()
def batch_proposals(model, data_batch: dict, rpn_cfg: Optional[dict] = None) -> tuple[list, list]:
    """``(data samples, proposals)`` of one batch: the RPN's proposals (``bboxes``, ``scores``,
    network input scale) with ``rpn_cfg`` (default: the model's test settings)."""
    data = model.data_preprocessor(data_batch, False)
    samples = data['data_samples']
    feats = model.extract_feat(data['inputs'])
    if rpn_cfg is None:
        return samples, model.rpn_head.predict(feats, samples, rescale=False)
    outs = model.rpn_head(feats)
    proposals = model.rpn_head.predict_by_feat(
        *outs, batch_img_metas=[s.metainfo for s in samples], cfg=rpn_cfg, rescale=False)
    return samples, proposals


def unknown_proposal_recall(model, batches: Iterable[dict], iou_thr: float = 0.5) -> dict:
    """Proposal recall on unknown objects over a split loaded with open labels, at the test
    proposal count (``model.test_cfg.rpn``).

    Returns:
        ``dict(found, unknown_gts, recall)`` (recall in percent; 0 without unknown objects).
    """
    model.eval()
    unknown_index = model.roi_head.bbox_head.unknown_index
    found = total = 0
    for batch in batches:
        samples, proposals = batch_proposals(model, batch)
        for sample, props in zip(samples, proposals):
            boxes, labels = input_scale_gt(sample)
            f, t = proposal_recall_counts(props.bboxes, boxes, labels, unknown_index, iou_thr)
            found, total = found + f, total + t
    return dict(found=found, unknown_gts=total, recall=100.0 * found / max(total, 1))


def pseudo_label_hits(model, batches: Iterable[dict], num_unknown: int = 1,
                      iou_thr: float = 0.5) -> dict:
    """How many of the auto-labeller's picks on the training images hit a real unknown object.

    The training split is loaded with open labels (test pipeline: no flip); the proposals use
    the training proposal settings (``model.train_cfg.rpn_proposal``), the picks see only the
    known ground truth, the hits are checked against the unknown one.

    Returns:
        ``dict(hits, picks, hit_rate)`` (hit rate in percent; 0 without picks).
    """
    model.eval()
    unknown_index = model.roi_head.bbox_head.unknown_index
    hits = picks = 0
    for batch in batches:
        samples, proposals = batch_proposals(model, batch, model.train_cfg.rpn_proposal)
        for sample, props in zip(samples, proposals):
            boxes, labels = input_scale_gt(sample)
            h, p = pseudo_label_hit_counts(props.bboxes, props.scores, boxes, labels,
                                           unknown_index, num_unknown, iou_thr)
            hits, picks = hits + h, picks + p
    return dict(hits=hits, picks=picks, hit_rate=100.0 * hits / max(picks, 1))
