"""RoIAlign and NMS through mmcv.ops (served by cl_dense.mmcv_ext under mmcv-lite) against slow
Python references: forward, backward (gradcheck-free: gradients of the reference by autograd),
aligned / unaligned, adaptive and fixed sampling, empty inputs, legacy offset."""
import pytest
import torch
from mmcv.ops import RoIAlign, batched_nms, nms, roi_align

from .reference import nms_reference, roi_align_reference


def _case(seed: int):
    gen = torch.Generator().manual_seed(seed)
    feats = torch.randn(2, 3, 9, 11, generator=gen, dtype=torch.float64)
    rois = torch.tensor([[0, 1.3, 0.7, 14.2, 11.9],    # larger than the map at scale 0.5? no
                         [1, 0.0, 0.0, 3.0, 2.0],
                         [1, 5.5, 4.2, 21.0, 17.5],     # runs past the border
                         [0, 6.0, 6.0, 6.2, 6.1]],      # smaller than a pixel
                        dtype=torch.float64)
    return feats, rois


@pytest.mark.parametrize('aligned', [True, False])
@pytest.mark.parametrize('sampling_ratio', [0, 2])
def test_roi_align_forward_and_backward_match_the_reference(aligned, sampling_ratio):
    feats, rois = _case(0)
    ours_in = feats.clone().requires_grad_(True)
    ref_in = feats.clone().requires_grad_(True)
    ours = roi_align(ours_in, rois, (3, 2), 0.5, sampling_ratio, 'avg', aligned)
    ref = roi_align_reference(ref_in, rois, 3, 2, 0.5, sampling_ratio, aligned)
    torch.testing.assert_close(ours, ref, rtol=1e-10, atol=1e-10)
    weights = torch.randn(ours.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    (ours * weights).sum().backward()
    (ref * weights).sum().backward()
    torch.testing.assert_close(ours_in.grad, ref_in.grad, rtol=1e-10, atol=1e-10)
    assert ours_in.grad.abs().sum() > 0


def test_roi_align_module_float32_and_empty_rois():
    feats, rois = _case(1)
    module = RoIAlign((7, 7), spatial_scale=0.5, sampling_ratio=0, aligned=True)
    torch.testing.assert_close(module(feats.float(), rois.float()),
                               roi_align_reference(feats, rois, 7, 7, 0.5, 0, True).float(),
                               rtol=1e-5, atol=1e-5)
    empty_in = feats.float().requires_grad_(True)
    out = module(empty_in, rois.float()[:0])
    assert out.shape == (0, 3, 7, 7)
    out.sum().backward()
    assert torch.equal(empty_in.grad, torch.zeros_like(empty_in))


def test_roi_align_max_mode_names_the_missing_kernel():
    from mmcv import _ext
    if not getattr(_ext, 'CL_DENSE_PROVIDED', False):
        pytest.skip('mmcv has its compiled ops here (max mode exists)')
    feats, rois = _case(2)
    with pytest.raises(NotImplementedError, match="roi_align.*pool_mode='max'.*CL_DENSE_MMCV=full"):
        roi_align(feats.float(), rois.float(), 2, 1.0, 0, 'max', True)


def _boxes(seed: int, num: int = 40):
    gen = torch.Generator().manual_seed(seed)
    xy = torch.rand(num, 2, generator=gen) * 50
    wh = torch.rand(num, 2, generator=gen) * 20 + 1
    scores = torch.randperm(num, generator=gen).float() / num  # distinct: no ties to break
    return torch.cat([xy, xy + wh], 1), scores


@pytest.mark.parametrize('offset', [0, 1])
@pytest.mark.parametrize('threshold', [0.3, 0.7])
def test_nms_matches_the_python_loop(offset, threshold):
    boxes, scores = _boxes(offset * 10 + int(threshold * 10))
    dets, keep = nms(boxes, scores, threshold, offset=offset)
    assert keep.tolist() == nms_reference(boxes, scores, threshold, offset)
    torch.testing.assert_close(dets[:, 4], scores[keep])


def test_offset_changes_the_answer_where_it_should():
    boxes = torch.tensor([[0.0, 0.0, 2.0, 2.0], [1.0, 0.0, 3.0, 2.0]])
    scores = torch.tensor([0.9, 0.8])
    # IoU 1/3 without offset, 6/12 = 0.5 with the legacy +1
    assert nms(boxes, scores, 0.4, offset=0)[1].tolist() == [0, 1]
    assert nms(boxes, scores, 0.4, offset=1)[1].tolist() == [0]


def test_batched_nms_keeps_classes_apart_and_empty_input():
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.5, 0.5, 10.0, 10.0], [0.0, 0.0, 10.0, 10.0]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    dets, keep = batched_nms(boxes, scores, torch.tensor([0, 0, 1]), dict(type='nms', iou_threshold=0.5))
    assert sorted(keep.tolist()) == [0, 2]
    dets, keep = nms(boxes[:0], scores[:0], 0.5)
    assert keep.numel() == 0 and dets.shape == (0, 5)
