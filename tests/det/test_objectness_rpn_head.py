"""ObjectnessRPNHead: quality targets against hand computations, no negative anchor in the
objectness loss, empty images give zero loss, registered and configurable."""
import math

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torchvision.ops import box_iou

import cl_dense.det  # noqa: F401
from cl_dense.det.objectness_rpn_head import centerness

RPN_TRAIN = ConfigDict(
    assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3, min_pos_iou=0.3,
                  match_low_quality=True, ignore_iof_thr=-1),
    sampler=dict(type='RandomSampler', num=256, pos_fraction=0.5, neg_pos_ub=-1,
                 add_gt_as_proposals=False),
    allowed_border=-1, pos_weight=-1, debug=False)
META = dict(img_shape=(128, 128), pad_shape=(128, 128), batch_input_shape=(128, 128),
            scale_factor=(1.0, 1.0))


def _head(**kwargs):
    torch.manual_seed(0)
    cfg = dict(type='ObjectnessRPNHead', in_channels=8, feat_channels=8,
               anchor_generator=dict(type='AnchorGenerator', scales=[4], ratios=[0.5, 1.0, 2.0],
                                     strides=[8]),
               train_cfg=RPN_TRAIN)
    cfg.update(kwargs)
    return MODELS.build(cfg)


ANCHORS = torch.tensor([[0.0, 0.0, 20.0, 20.0], [2.0, 4.0, 26.0, 20.0], [50.0, 50.0, 70.0, 70.0],
                        [0.0, 0.0, 60.0, 60.0]])
GT = InstanceData(bboxes=torch.tensor([[2.0, 4.0, 26.0, 20.0]]), labels=torch.tensor([0]))


@pytest.mark.parametrize('quality', ['centerness', 'iou'])
def test_targets_equal_a_hand_computation(quality):
    targets, weights = _head(quality=quality).objectness_targets(
        ANCHORS, torch.ones(4, dtype=torch.bool), GT, META)
    # anchor 0: centre (10, 10) in the gt: l 8, r 16, t 6, b 10; IoU 288 / 496
    # anchor 1: the gt itself; anchor 2: no overlap; anchor 3: IoU 384 / 3600 < 0.3
    expected = {'centerness': [math.sqrt(8 / 16 * 6 / 10), 1.0, 0.0, 0.0],
                'iou': [288 / 496, 1.0, 0.0, 0.0]}[quality]
    assert targets.tolist() == pytest.approx(expected, rel=1e-6)
    assert weights.tolist() == [1.0, 1.0, 0.0, 0.0]


def test_centerness_is_zero_outside_the_box():
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0]]).repeat(3, 1)
    points = torch.tensor([[5.0, 5.0], [10.0, 5.0], [12.0, 5.0]])
    assert centerness(points, boxes).tolist() == [1.0, 0.0, 0.0]


def _feature_loss(head, gt_boxes, seed=0):
    gen = torch.Generator().manual_seed(seed)
    feats = [torch.randn(1, 8, 16, 16, generator=gen)]
    cls_scores, bbox_preds = head(feats)
    cls_scores = [s.detach().requires_grad_() for s in cls_scores]
    gt = InstanceData(bboxes=gt_boxes, labels=torch.zeros(len(gt_boxes), dtype=torch.long))
    losses = head.loss_by_feat(cls_scores, bbox_preds, [gt], [META])
    return cls_scores[0], losses


def test_no_negative_anchor_contributes_to_the_objectness_loss():
    head = _head(objectness_num=10_000)
    gt_boxes = torch.tensor([[30.0, 30.0, 70.0, 62.0], [90.0, 10.0, 120.0, 50.0]])
    cls_score, losses = _feature_loss(head, gt_boxes)
    assert set(losses) == {'loss_rpn_obj', 'loss_rpn_bbox'}
    losses['loss_rpn_obj'].backward()
    grad = cls_score.grad.permute(0, 2, 3, 1).reshape(-1)  # anchor order: (h, w, anchor)
    anchors = head.get_anchors([(16, 16)], [META], device='cpu')[0][0][0]
    positive = box_iou(anchors, gt_boxes).max(1).values >= 0.3
    assert positive.any() and (~positive).any()
    assert grad[~positive].eq(0).all()
    assert grad[positive].ne(0).sum() > 0


def test_objectness_samples_are_capped_and_empty_images_give_zero_loss():
    head = _head(objectness_num=3)
    big = torch.tensor([[40.0, 40.0, 80.0, 80.0]])  # many anchors with IoU >= 0.3
    cls_score, losses = _feature_loss(head, big)
    losses['loss_rpn_obj'].backward()
    assert int(cls_score.grad.ne(0).sum()) == 3
    cls_score, losses = _feature_loss(head, torch.zeros(0, 4))
    assert losses['loss_rpn_obj'].item() == 0.0 and torch.isfinite(losses['loss_rpn_obj'])
    losses['loss_rpn_obj'].backward()
    assert cls_score.grad.eq(0).all()


@pytest.mark.parametrize('kwargs, message', [
    (dict(quality='giou'), 'quality'), (dict(objectness_pos_iou=0.0), 'objectness_pos_iou'),
    (dict(objectness_num=0), 'objectness_num'),
    (dict(loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False)), 'sigmoid')])
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _head(**kwargs)
