"""PerClassIoUMetric: the per-class IoUs equal a hand computation and mIoU stays mmseg's."""
import pytest
import torch
from mmseg.structures import SegDataSample
from mmengine.structures import PixelData

from cl_dense.seg.evaluation import PerClassIoUMetric
from cl_dense.seg.evaluation.per_class_iou import per_class_iou


def _sample(pred: list, label: list) -> dict:
    sample = SegDataSample()
    sample.pred_sem_seg = PixelData(data=torch.tensor([pred]))
    sample.gt_sem_seg = PixelData(data=torch.tensor([label]))
    sample.set_metainfo(dict(img_path='x.png'))
    return sample.to_dict()


def test_per_class_iou_matches_hand_counts_and_skips_absent_classes():
    metric = PerClassIoUMetric()
    metric.dataset_meta = dict(classes=('a', 'b', 'c'))
    # image 1: a a b b ; predicted a b b b -> a: I1 U2, b: I2 U3
    # image 2: a b 255 255 ; predicted a a 1 1 (ignored) -> a: I1 U2, b: I0 U1
    metric.process([], [_sample([[0, 1, 1, 1]], [[0, 0, 1, 1]]),
                        _sample([[0, 0, 1, 1]], [[0, 1, 255, 255]])])
    out = metric.compute_metrics(metric.results)
    assert out['IoU.a'] == pytest.approx(100 * 2 / 4)
    assert out['IoU.b'] == pytest.approx(100 * 2 / 4)
    assert 'IoU.c' not in out  # never labelled nor predicted
    assert out['mIoU'] == pytest.approx(50.0)


def test_class_count_mismatch_raises():
    areas = torch.ones(2)
    with pytest.raises(ValueError, match='2 class areas for 3 class names'):
        per_class_iou([(areas, areas, areas, areas)], ('a', 'b', 'c'))
