"""Unknown pseudo-labels in the CPU configs' RoI head: the top-k background proposals by RPN
objectness are chosen among *all* proposals (before sampling) and become pseudo ground truth of
class "unknown", so every proposal overlapping a pick (IoU >= 0.5) gets the unknown target."""
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.registry import MODELS
from mmengine.structures import InstanceData
from torchvision.ops import box_iou

import cl_dense.det  # noqa: F401
from tests.conftest import PROJECT_ROOT

CONFIG = PROJECT_ROOT / 'configs/ore/ore_faster-rcnn_r18-fpn-narrow_1xb4-300it_chess-t1-512x343.py'
UNKNOWN, BACKGROUND = 12, 13
KNOWN_GT = torch.tensor([[10.0, 10.0, 40.0, 40.0]])
OBJECT = torch.tensor([70.0, 70.0, 100.0, 100.0])  # an unannotated object
# proposals: the unannotated object (best background objectness) and 3 boxes on it with IoU >= 0.5,
# one box on the known object, 60 small background boxes of low objectness
ON_OBJECT = torch.stack([OBJECT, OBJECT + torch.tensor([3.0, 0, 3, 0]),
                         OBJECT + torch.tensor([0, 4.0, 0, 4]), OBJECT + torch.tensor([-2.0, -2, 2, 2])])


def _proposals(seed: int) -> InstanceData:
    gen = torch.Generator().manual_seed(seed)
    xy = torch.rand(60, 2, generator=gen) * 50
    background = torch.cat([xy, xy + 6 + torch.rand(60, 2, generator=gen) * 6], 1)
    boxes = torch.cat([ON_OBJECT, torch.tensor([[10.0, 10.0, 40.0, 41.0]]), background])
    scores = torch.cat([torch.tensor([0.9, 0.3, 0.2, 0.1, 0.95]),
                        torch.rand(60, generator=gen) * 0.05])
    perm = torch.randperm(len(boxes), generator=gen)
    return InstanceData(bboxes=boxes[perm], scores=scores[perm])


def _roi_head(sampler_num: int, bbox_head: dict | None = None, **roi_head):
    cfg = Config.fromfile(str(CONFIG))
    cfg.model.roi_head.update(roi_head)
    cfg.model.roi_head.bbox_head.update(bbox_head or {})
    cfg.model.train_cfg.rcnn.sampler.num = sampler_num
    torch.manual_seed(0)
    return MODELS.build(cfg.model).roi_head


def _targets(head, seed: int):
    """(rois [R, 5], labels [R], bbox_weights [R, 4]) the bbox head was trained with."""
    seen = {}
    loss_and_target = type(head.bbox_head).loss_and_target.__get__(head.bbox_head)

    def spy(cls_score, bbox_pred, rois, *args, **kwargs):
        out = loss_and_target(cls_score, bbox_pred, rois, *args, **kwargs)
        seen.update(rois=rois, labels=out['bbox_targets'][0], bbox_weights=out['bbox_targets'][3])
        return out

    head.bbox_head.loss_and_target = spy
    sample = DetDataSample(metainfo=dict(img_shape=(128, 128), pad_shape=(128, 128),
                                         batch_input_shape=(128, 128), scale_factor=(1.0, 1.0)))
    sample.gt_instances = InstanceData(bboxes=KNOWN_GT.clone(), labels=torch.tensor([0]))
    feats = [torch.randn(1, 64, 128 // s, 128 // s) for s in (4, 8, 16, 32)]
    torch.manual_seed(seed)
    losses = head.loss(feats, [_proposals(seed)], [sample])
    assert torch.isfinite(losses['loss_cls'])
    return seen['rois'][:, 1:], seen['labels'], seen['bbox_weights']


def test_every_proposal_on_the_pick_gets_the_unknown_target():
    rois, labels, bbox_weights = _targets(_roi_head(sampler_num=512), seed=0)  # all sampled
    on_object = box_iou(rois, OBJECT[None]).squeeze(1) >= 0.5
    # the 4 proposals on the object and the pseudo ground truth itself (added as a proposal)
    assert int(on_object.sum()) == 5
    assert (labels[on_object] == UNKNOWN).all()
    assert not (labels[~on_object] == UNKNOWN).any()
    # known object: its proposal and ground truth are known (class 0) positives
    assert int((labels == 0).sum()) == 2
    # no box regression towards the pick (the default)
    assert bbox_weights[labels == UNKNOWN].eq(0).all()


def test_the_pick_is_the_best_background_proposal_even_when_it_is_not_sampled():
    # 16 sampled RoIs of ~67: the best background proposal is rarely sampled, yet it is the pick
    head = _roi_head(sampler_num=16)
    for seed in range(8):
        rois, labels, _ = _targets(head, seed=seed)
        unknown = labels == UNKNOWN
        assert unknown.any(), seed
        assert (box_iou(rois[unknown], OBJECT[None]) >= 0.5).all(), seed


def test_regression_towards_the_pick_is_an_option_and_k_zero_disables():
    rois, labels, bbox_weights = _targets(_roi_head(512, dict(regress_unknown=True)), seed=0)
    assert bbox_weights[labels == UNKNOWN].eq(1).all() and (labels == UNKNOWN).sum() == 5
    _, labels, _ = _targets(_roi_head(512, num_unknown=0), seed=0)
    assert not (labels == UNKNOWN).any()
