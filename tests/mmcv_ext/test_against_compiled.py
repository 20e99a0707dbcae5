"""cl_dense's mmcv._ext functions against mmcv's compiled ones, called with the same arguments.

Runs only where mmcv's compiled build is installed (``CL_DENSE_MMCV=full make setup``); skipped
with that reason on the default mmcv-lite set-up."""
import pytest
import torch

from cl_dense.mmcv_ext import table


@pytest.fixture(scope='module')
def compiled():
    from mmcv import _ext
    if getattr(_ext, 'CL_DENSE_PROVIDED', False):
        pytest.skip("mmcv's compiled build is not installed (mmcv-lite set-up): "
                    'CL_DENSE_MMCV=full make setup to run this comparison')
    return _ext


@pytest.mark.parametrize('aligned', [True, False])
@pytest.mark.parametrize('sampling_ratio', [0, 2])
def test_roi_align_equals_the_compiled_kernel(compiled, aligned, sampling_ratio):
    gen = torch.Generator().manual_seed(0)
    feats = torch.randn(2, 3, 11, 13, generator=gen)
    rois = torch.tensor([[0, 1.3, 0.7, 20.2, 15.9], [1, 0.0, 0.0, 3.0, 2.0],
                         [1, 5.5, 4.2, 31.0, 27.5], [0, 6.0, 6.0, 6.2, 6.1]])
    grad_out = torch.randn(4, 3, 7, 7, generator=gen)
    results = []
    for ext in (compiled, table.PROVIDED):
        fn = (lambda name: getattr(ext, name)) if ext is compiled else ext.__getitem__
        out, empty = feats.new_zeros(4, 3, 7, 7), feats.new_zeros(0)
        fn('roi_align_forward')(feats, rois, out, empty, empty, aligned_height=7, aligned_width=7,
                                spatial_scale=0.5, sampling_ratio=sampling_ratio, pool_mode=1,
                                aligned=aligned)
        grad = torch.zeros_like(feats)
        fn('roi_align_backward')(grad_out, rois, empty, empty, grad, aligned_height=7,
                                 aligned_width=7, spatial_scale=0.5, sampling_ratio=sampling_ratio,
                                 pool_mode=1, aligned=aligned)
        results.append((out, grad))
    torch.testing.assert_close(results[0][0], results[1][0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(results[0][1], results[1][1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('offset', [0, 1])
def test_nms_equals_the_compiled_kernel(compiled, offset):
    gen = torch.Generator().manual_seed(1)
    xy = torch.rand(300, 2, generator=gen) * 100
    boxes = torch.cat([xy, xy + torch.rand(300, 2, generator=gen) * 30 + 1], 1)
    scores = torch.randperm(300, generator=gen).float() / 300
    ours = table.PROVIDED['nms'](boxes, scores, iou_threshold=0.5, offset=offset)
    theirs = compiled.nms(boxes, scores, iou_threshold=0.5, offset=offset)
    assert ours.tolist() == theirs.tolist()


def test_sigmoid_focal_loss_equals_the_compiled_kernel(compiled):
    gen = torch.Generator().manual_seed(2)
    logits = torch.randn(40, 6, generator=gen)
    target = torch.randint(0, 7, (40,), generator=gen)
    outs = []
    for fwd, bwd in ((compiled.sigmoid_focal_loss_forward, compiled.sigmoid_focal_loss_backward),
                     (table.PROVIDED['sigmoid_focal_loss_forward'],
                      table.PROVIDED['sigmoid_focal_loss_backward'])):
        out, grad = torch.zeros_like(logits), torch.zeros_like(logits)
        try:
            fwd(logits, target, logits.new_empty(0), out, gamma=2.0, alpha=0.25)
        except (RuntimeError, NotImplementedError) as error:
            pytest.skip(f'this compiled build has no CPU focal loss kernel: {error}')
        bwd(logits, target, logits.new_empty(0), grad, gamma=2.0, alpha=0.25)
        outs.append((out, grad))
    torch.testing.assert_close(outs[0][0], outs[1][0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(outs[0][1], outs[1][1], rtol=1e-5, atol=1e-6)
