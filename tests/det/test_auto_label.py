"""The unknown auto-labeller picks the right proposals on hand-built cases."""
import pytest
import torch
from mmdet.models.task_modules.assigners import MaxIoUAssigner
from mmengine.structures import InstanceData

from cl_dense.det import UnknownAutoLabelSampler, select_unknown_proposals

GT = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
# IoU with GT:          1.0              0.6              0.4              0                0
BOXES = torch.tensor([[0, 0, 10, 10], [0, 0, 10, 6], [0, 0, 10, 4], [50, 50, 60, 60],
                      [20, 20, 30, 30], [0, 0, 10, 5]], dtype=torch.float32)
#                                                              IoU exactly 0.5: excluded
OBJECTNESS = torch.tensor([0.99, 0.95, 0.5, 0.9, 0.7, 0.97])


@pytest.mark.parametrize('k, expected', [(0, []), (1, [3]), (2, [3, 4]), (3, [3, 4, 2]),
                                         (10, [3, 4, 2])])
def test_top_k_by_objectness_among_boxes_below_the_iou_bound(k, expected):
    assert select_unknown_proposals(BOXES, OBJECTNESS, GT, k=k).tolist() == expected


def test_without_ground_truth_every_box_qualifies():
    assert select_unknown_proposals(BOXES, OBJECTNESS, GT[:0], k=2).tolist() == [0, 5]


def test_iou_bound_is_configurable():
    # at 0.65 the 0.6 and 0.5 boxes (objectness 0.95, 0.97) qualify too
    assert select_unknown_proposals(BOXES, OBJECTNESS, GT, k=2, iou_thr=0.65).tolist() == [5, 1]


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match='objectness'):
        select_unknown_proposals(BOXES, OBJECTNESS[:2], GT)
    with pytest.raises(ValueError, match='boxes'):
        select_unknown_proposals(BOXES[:, :3], OBJECTNESS, GT)


@pytest.mark.parametrize('add_gt', [True, False])
def test_sampler_marks_the_negative_with_the_highest_objectness(add_gt):
    proposals = InstanceData(priors=BOXES.clone(), scores=OBJECTNESS.clone())
    gt = InstanceData(bboxes=GT.clone(), labels=torch.tensor([0]))
    assign = MaxIoUAssigner(pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0.5).assign(proposals, gt)
    sampler = UnknownAutoLabelSampler(num_unknown=2, num=64, pos_fraction=0.5,
                                      add_gt_as_proposals=add_gt)
    result = sampler.sample(assign, proposals, gt)
    # negatives are the boxes with IoU < 0.5 (2, 3, 4); the two best by objectness are 3 and 4
    assert sorted(map(tuple, result.neg_priors.tolist())) == sorted(
        map(tuple, BOXES[[2, 3, 4]].tolist()))
    assert result.neg_priors[result.unknown_neg_inds].tolist() == BOXES[[3, 4]].tolist()


def test_sampler_needs_objectness():
    proposals = InstanceData(priors=BOXES.clone())
    gt = InstanceData(bboxes=GT.clone(), labels=torch.tensor([0]))
    assign = MaxIoUAssigner(pos_iou_thr=0.5, neg_iou_thr=0.5).assign(proposals, gt)
    with pytest.raises(ValueError, match='scores'):
        UnknownAutoLabelSampler(num=8, pos_fraction=0.5).sample(assign, proposals, gt)
