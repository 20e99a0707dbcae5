"""Class-agnostic objectness (OLN, Kim et al., RA-L 2022): an RPN whose objectness is trained as
localisation quality of positive anchors only, so objects nobody annotated are never taught to be
background."""
from typing import List, Optional, Tuple

import torch
from mmdet.models.dense_heads import RPNHead
from mmdet.models.task_modules.prior_generators import anchor_inside_flags
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox_overlaps, get_box_tensor
from mmengine.structures import InstanceData
from torch import Tensor

QUALITIES = ('centerness', 'iou')


def centerness(points: Tensor, boxes: Tensor) -> Tensor:
    """FCOS centerness ``sqrt(min(l, r) / max(l, r) * min(t, b) / max(t, b))`` of points in boxes.

    Args:
        points: [N, 2] (x, y).
        boxes: [N, 4] (x1, y1, x2, y2), one per point.

    Returns:
        [N] in [0, 1]; 0 for a point on or outside its box.
    """
    left, top = points[:, 0] - boxes[:, 0], points[:, 1] - boxes[:, 1]
    right, bottom = boxes[:, 2] - points[:, 0], boxes[:, 3] - points[:, 1]
    lr, tb = torch.stack([left, right], 1), torch.stack([top, bottom], 1)
    inside = torch.cat([lr, tb], 1).min(1).values > 0
    ratio = (lr.min(1).values / lr.max(1).values.clamp(min=1e-12)
             * tb.min(1).values / tb.max(1).values.clamp(min=1e-12))
    return torch.where(inside, ratio.clamp(min=0).sqrt(), torch.zeros_like(ratio))


@MODELS.register_module()
class ObjectnessRPNHead(RPNHead):
    """mmdet's :class:`RPNHead` whose objectness (its one sigmoid output per anchor) is trained
    as localisation quality, OLN-style: anchors with IoU >= ``objectness_pos_iou`` to some ground
    truth (at most ``objectness_num`` per image, drawn at random) regress ``quality`` of their
    best-matching ground truth with ``loss_objectness`` (default L1 on the sigmoid); no other
    anchor takes part (no negatives, so unannotated objects are not pushed to background).
    Box regression is :class:`RPNHead`'s (its assigner and sampler); its classification loss is
    not used. Proposals are ranked by the sigmoid of the objectness, so ORE's auto-labeller, which
    ranks by the proposals' ``scores``, ranks by this quality.

    Losses: ``loss_rpn_obj`` and ``loss_rpn_bbox``. OLN's IoU-score RoI head is not part of it.

    Args:
        quality: ``'centerness'`` (of the anchor centre in the ground truth box, OLN's default)
            or ``'iou'`` (of the anchor with it).
        objectness_pos_iou: IoU of an anchor with a ground truth that makes it an objectness
            sample (OLN: 0.3).
        objectness_num: objectness samples per image (OLN: 256).
        loss_objectness: the loss on (sigmoid objectness, quality) of the samples.
        *args, **kwargs: :class:`RPNHead`'s arguments (``loss_cls`` must use a sigmoid).
    """

    def __init__(self, *args, quality: str = 'centerness', objectness_pos_iou: float = 0.3,
                 objectness_num: int = 256,
                 loss_objectness: dict = dict(type='L1Loss', loss_weight=1.0), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if quality not in QUALITIES:
            raise ValueError(f'quality must be one of {QUALITIES}, got {quality!r}')
        if not 0.0 < objectness_pos_iou <= 1.0:
            raise ValueError(f'objectness_pos_iou must lie in (0, 1], got {objectness_pos_iou!r}')
        if objectness_num < 1:
            raise ValueError(f'objectness_num must be >= 1, got {objectness_num!r}')
        if self.cls_out_channels != 1:
            raise ValueError('ObjectnessRPNHead needs one sigmoid objectness per anchor '
                             '(loss_cls with use_sigmoid=True)')
        self.quality = quality
        self.objectness_pos_iou = objectness_pos_iou
        self.objectness_num = objectness_num
        self.loss_objectness = MODELS.build(loss_objectness)

    def objectness_targets(self, anchors: Tensor, valid_flags: Tensor, gt_instances: InstanceData,
                           img_meta: dict) -> Tuple[Tensor, Tensor]:
        """Quality targets of one image's anchors.

        Args:
            anchors: [A, 4] every anchor of every level (level-major, as ``get_anchors``).
            valid_flags: [A] bool.
            gt_instances: ``bboxes [G, 4]`` of the image (any class).
            img_meta: with ``img_shape``.

        Returns:
            ``(targets [A], weights [A])``: weight 1 and the quality for the sampled positive
            anchors, 0 and 0 elsewhere.
        """
        anchors = get_box_tensor(anchors)
        targets, weights = anchors.new_zeros(len(anchors)), anchors.new_zeros(len(anchors))
        gt_boxes = get_box_tensor(gt_instances.bboxes)
        if len(gt_boxes) == 0:
            return targets, weights
        border = self.train_cfg.get('allowed_border', -1) if self.train_cfg else -1
        inside = anchor_inside_flags(anchors, valid_flags, img_meta['img_shape'][:2], border)
        iou = bbox_overlaps(anchors, gt_boxes.to(anchors.dtype))
        best_iou, match = iou.max(1)
        chosen = (inside & (best_iou >= self.objectness_pos_iou)).nonzero().squeeze(1)
        if len(chosen) > self.objectness_num:
            chosen = chosen[torch.randperm(len(chosen), device=chosen.device)[:self.objectness_num]]
        if self.quality == 'iou':
            quality = best_iou[chosen]
        else:
            centres = (anchors[chosen, :2] + anchors[chosen, 2:]) / 2
            quality = centerness(centres, gt_boxes[match[chosen]].to(anchors.dtype))
        targets[chosen], weights[chosen] = quality, 1.0
        return targets, weights

    def objectness_loss(self, cls_scores: List[Tensor], batch_gt_instances: List[InstanceData],
                        batch_img_metas: List[dict]) -> Tensor:
        """The objectness loss of a batch, averaged over its samples (0 without any).

        Args:
            cls_scores: per level [N, num_base_priors, H, W] objectness logits.
        """
        num_images = cls_scores[0].shape[0]
        anchor_list, valid_list = self.get_anchors([s.shape[-2:] for s in cls_scores],
                                                   batch_img_metas, device=cls_scores[0].device)
        logits = torch.cat([s.permute(0, 2, 3, 1).reshape(num_images, -1) for s in cls_scores], 1)
        targets, weights = zip(*(
            self.objectness_targets(torch.cat(anchors), torch.cat(valid), gt, meta)
            for anchors, valid, gt, meta in zip(anchor_list, valid_list, batch_gt_instances,
                                                batch_img_metas)))
        weights = torch.stack(weights)
        return self.loss_objectness(logits.sigmoid(), torch.stack(targets), weights,
                                    avg_factor=weights.sum().clamp(min=1.0))

    def loss_by_feat(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
                     batch_gt_instances: List[InstanceData], batch_img_metas: List[dict],
                     batch_gt_instances_ignore: Optional[List[InstanceData]] = None) -> dict:
        """``loss_rpn_obj`` (:meth:`objectness_loss`) and :class:`RPNHead`'s ``loss_rpn_bbox``."""
        losses = super().loss_by_feat(cls_scores, bbox_preds, batch_gt_instances, batch_img_metas,
                                      batch_gt_instances_ignore)
        return dict(loss_rpn_obj=self.objectness_loss(cls_scores, batch_gt_instances,
                                                      batch_img_metas),
                    loss_rpn_bbox=losses['loss_rpn_bbox'])
