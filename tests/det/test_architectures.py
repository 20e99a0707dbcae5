"""The OWOD configs' detectors (R50-C4 with OpenWorldBBoxHead, R50-FPN with
OpenWorldShared2FCBBoxHead), narrowed to ResNet-18, train one step and predict with energies."""
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.registry import MODELS
from mmengine.structures import InstanceData

import cl_dense.det  # noqa: F401
from tests.conftest import PROJECT_ROOT

C4 = dict(backbone=dict(depth=18, init_cfg=None), roi_head=dict(
    shared_head=dict(depth=18, init_cfg=None), bbox_head=dict(in_channels=512)),
    rpn_head=dict(in_channels=256, feat_channels=64))
FPN = dict(backbone=dict(depth=18, base_channels=8, init_cfg=None),
           neck=dict(in_channels=[8, 16, 32, 64], out_channels=32),
           rpn_head=dict(in_channels=32, feat_channels=32),
           roi_head=dict(bbox_roi_extractor=dict(out_channels=32),
                         bbox_head=dict(in_channels=32, fc_out_channels=64)))


def _batch(labels_per_image=([0, 21], [20])):
    samples = []
    for boxes, labels in zip(([[4, 4, 30, 40], [35, 10, 60, 50]], [[10, 10, 50, 50]]),
                             labels_per_image):
        sample = DetDataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64), pad_shape=(64, 64),
                                             scale_factor=(1.0, 1.0), batch_input_shape=(64, 64)))
        sample.gt_instances = InstanceData(bboxes=torch.tensor(boxes, dtype=torch.float32),
                                           labels=torch.tensor(labels))
        samples.append(sample)
    return torch.randn(2, 3, 64, 64), samples


def _train_and_predict(config: str, narrow: dict, labels_per_image=([0, 21], [20])):
    """Build the config's detector narrowed by ``narrow``, train 2 steps, predict."""
    cfg = Config.fromfile(str(PROJECT_ROOT / 'configs/ore' / config))
    cfg.merge_from_dict(dict(model=narrow))
    cfg.model.roi_head.bbox_head.clustering.start_iter = 0
    cfg.model.train_cfg.rcnn.sampler.num = 64
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    inputs, samples = _batch(labels_per_image)
    model.train()
    for _ in range(2):
        losses = model.loss(inputs, samples)
    total = sum(v for k, v in losses.items() if 'loss' in k and isinstance(v, torch.Tensor))
    assert torch.isfinite(total)
    model.eval()
    with torch.no_grad():
        preds = model.predict(inputs, samples)
    for pred in preds:
        assert len(pred.pred_instances.energies) == len(pred.pred_instances.labels)
    return model, losses, preds


@pytest.mark.parametrize('arch, narrow, head', [('r50-c4', C4, 'OpenWorldBBoxHead'),
                                                ('r50-fpn', FPN, 'OpenWorldShared2FCBBoxHead')])
def test_owod_detector_trains_and_predicts(arch, narrow, head):
    model, losses, preds = _train_and_predict(f'ore_faster-rcnn_{arch}_8xb2-36k_owod-t2.py', narrow)
    assert type(model.roi_head.bbox_head).__name__ == head
    assert model.roi_head.bbox_head.num_known_classes == 40
    # one unknown pseudo ground truth per image; every RoI on it is an unknown target
    assert losses['unknown_pseudo_gts'].item() == 2 and losses['unknown_targets'].item() >= 2
    assert losses['cluster_prototypes'].item() >= 2  # classes 0, 20 / 21 (and unknown) stored
    for pred in preds:
        # classes of tasks 3 and 4 (indices 40..79) are never predicted
        labels = pred.pred_instances.labels
        assert not ((labels >= 40) & (labels < 80)).any()


@pytest.mark.parametrize('arch, narrow', [('r50-c4', C4), ('r50-fpn', FPN)])
def test_owod_objectness_variant_trains_and_predicts(arch, narrow):
    model, losses, _ = _train_and_predict(f'ore-objectness_faster-rcnn_{arch}_8xb2-36k_owod-t1.py',
                                          narrow, ([0, 5], [3]))  # task 1: classes 0..19 known
    assert type(model.rpn_head).__name__ == 'ObjectnessRPNHead'
    assert model.rpn_head.quality == 'centerness'
    assert 'loss_rpn_obj' in losses and 'loss_rpn_cls' not in losses
    assert losses['unknown_pseudo_gts'].item() == 2
