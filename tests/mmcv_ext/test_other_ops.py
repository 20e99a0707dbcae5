"""Sigmoid focal loss, multi-scale deformable attention and deformable convolution of
cl_dense.mmcv_ext against independent computations; unprovided ops; the environment report."""
import pytest
import torch
import torch.nn.functional as F

from cl_dense.mmcv_ext import deform_conv, focal_loss, ms_deform_attn, table
from cl_dense.mmcv_ext.errors import MissingMmcvOpError


def test_sigmoid_focal_loss_matches_the_formula_and_its_gradient():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 4, generator=gen, dtype=torch.float64)
    target = torch.tensor([0, 3, 4, 1, 4, 2])  # 4 = background
    gamma, alpha = 2.0, 0.25
    out = torch.empty_like(logits)
    focal_loss.sigmoid_focal_loss_forward(logits, target, logits.new_empty(0), out, gamma, alpha)
    p = logits.sigmoid()
    onehot = F.one_hot(target, 5)[:, :4].double()
    expected = -(onehot * alpha * (1 - p) ** gamma * p.log()
                 + (1 - onehot) * (1 - alpha) * p ** gamma * (1 - p).log())
    torch.testing.assert_close(out, expected)
    grad = torch.empty_like(logits)
    focal_loss.sigmoid_focal_loss_backward(logits, target, logits.new_empty(0), grad, gamma, alpha)
    leaf = logits.clone().requires_grad_(True)
    pl = leaf.sigmoid()
    loss = -(onehot * alpha * (1 - pl) ** gamma * pl.log()
             + (1 - onehot) * (1 - alpha) * pl ** gamma * (1 - pl).log())
    (expected_grad,) = torch.autograd.grad(loss.sum(), leaf)
    torch.testing.assert_close(grad, expected_grad)


def test_sigmoid_focal_loss_through_mmcv_ops_with_class_weights():
    from mmcv import _ext
    from mmcv.ops import sigmoid_focal_loss
    if not getattr(_ext, 'CL_DENSE_PROVIDED', False):
        pytest.skip("mmcv's compiled build is installed here, and it has no CPU focal loss kernel")
    logits = torch.randn(5, 3, generator=torch.Generator().manual_seed(1)).requires_grad_(True)
    target = torch.tensor([0, 1, 2, 1, 0])
    weight = torch.tensor([1.0, 2.0, 0.5])
    loss = sigmoid_focal_loss(logits, target, 2.0, 0.25, weight, 'sum')
    plain = sigmoid_focal_loss(logits, target, 2.0, 0.25, None, 'none')
    torch.testing.assert_close(loss, (plain * weight[target].unsqueeze(1)).sum())
    loss.backward()
    assert logits.grad.abs().sum() > 0


def _attn_case():
    gen = torch.Generator().manual_seed(2)
    shapes = torch.tensor([[4, 5], [2, 3]])
    starts = torch.tensor([0, 20])
    value = torch.randn(2, 26, 2, 3, generator=gen, dtype=torch.float64)
    locs = torch.rand(2, 7, 2, 2, 4, 2, generator=gen, dtype=torch.float64)
    weights = torch.rand(2, 7, 2, 2, 4, generator=gen, dtype=torch.float64)
    return value, shapes, starts, locs, weights


def _attn_loop(value, shapes, locs, weights):
    """Per (batch, query, head, level, point): a bilinear sample with zero padding."""
    from .reference import bilinear
    batch, queries, heads, levels, points, _ = locs.shape
    out = value.new_zeros(batch, queries, heads, value.shape[-1])
    start = 0
    for level, (h, w) in enumerate(shapes.tolist()):
        plane = value[:, start:start + h * w].view(batch, h, w, heads, -1)
        start += h * w
        for b in range(batch):
            for q in range(queries):
                for m in range(heads):
                    feature = plane[b, :, :, m].permute(2, 0, 1)
                    for p in range(points):
                        x, y = locs[b, q, m, level, p]
                        # align_corners=False: pixel centres at (i + 0.5) / size
                        padded = F.pad(feature, (1, 1, 1, 1))
                        sample = bilinear(padded, y * h - 0.5 + 1, x * w - 0.5 + 1)
                        out[b, q, m] += weights[b, q, m, level, p] * sample
    return out.flatten(2)


def test_ms_deform_attn_matches_a_loop_and_its_backward_matches_autograd():
    value, shapes, starts, locs, weights = _attn_case()
    out = ms_deform_attn.ms_deform_attn_forward(value, shapes, starts, locs, weights, 64)
    torch.testing.assert_close(out, _attn_loop(value, shapes, locs, weights))
    grad_out = torch.randn(out.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    grads = [torch.zeros_like(t) for t in (value, locs, weights)]
    ms_deform_attn.ms_deform_attn_backward(value, shapes, starts, locs, weights, grad_out, *grads, 64)
    leaves = [t.clone().requires_grad_(True) for t in (value, locs, weights)]
    ref = _attn_loop(leaves[0], shapes, leaves[1], leaves[2])
    for ours, theirs in zip(grads, torch.autograd.grad(ref, leaves, grad_out)):
        torch.testing.assert_close(ours, theirs)


def test_deform_conv_with_zero_offsets_is_a_convolution_and_integer_offsets_shift():
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(2, 4, 6, 7, generator=gen, dtype=torch.float64)
    weight = torch.randn(6, 2, 3, 3, generator=gen, dtype=torch.float64)  # group 2
    offset = torch.zeros(2, 2 * 9, 6, 7, dtype=torch.float64)
    out = torch.empty(2, 6, 6, 7, dtype=torch.float64)
    args = dict(kW=3, kH=3, dW=1, dH=1, padW=1, padH=1, dilationW=1, dilationH=1, group=2,
                deformable_group=1, im2col_step=2)
    deform_conv.deform_conv_forward(x, weight, offset, out, x.new_empty(0), x.new_empty(0), **args)
    torch.testing.assert_close(out, F.conv2d(x, weight, padding=1, groups=2))
    # every tap displaced by one row down: taps read rows y .. y + 2 instead of y - 1 .. y + 1
    offset[:, 0::2] = 1.0
    deform_conv.deform_conv_forward(x, weight, offset, out, x.new_empty(0), x.new_empty(0), **args)
    torch.testing.assert_close(out, F.conv2d(F.pad(x, (1, 1, 0, 2)), weight, groups=2))
    # gradients against autograd through F.conv2d (zero offsets)
    offset.zero_()
    grad_out = torch.randn(out.shape, generator=gen, dtype=torch.float64)
    g_in, g_off, g_w = torch.zeros_like(x), torch.zeros_like(offset), torch.zeros_like(weight)
    deform_conv.deform_conv_backward_input(x, offset, grad_out, g_in, g_off, weight, x.new_empty(0), **args)
    deform_conv.deform_conv_backward_parameters(x, offset, grad_out, g_w, x.new_empty(0), x.new_empty(0),
                                                scale=1.0, **args)
    leaves = [x.clone().requires_grad_(True), weight.clone().requires_grad_(True)]
    ref_in, ref_w = torch.autograd.grad(F.conv2d(leaves[0], leaves[1], padding=1, groups=2),
                                        leaves, grad_out)
    torch.testing.assert_close(g_in, ref_in)
    torch.testing.assert_close(g_w, ref_w)


def test_modulated_deform_conv_module_from_mmcv_with_unit_mask_is_a_convolution():
    from mmcv.ops import ModulatedDeformConv2d
    module = ModulatedDeformConv2d(3, 5, 3, padding=1).double()
    x = torch.randn(1, 3, 5, 5, dtype=torch.float64, requires_grad=True)
    offset = torch.zeros(1, 18, 5, 5, dtype=torch.float64, requires_grad=True)
    mask = torch.full((1, 9, 5, 5), 0.5, dtype=torch.float64, requires_grad=True)
    out = module(x, offset, mask)
    torch.testing.assert_close(out, F.conv2d(x, module.weight * 0.5, module.bias, padding=1))
    out.sum().backward()
    assert x.grad.abs().sum() > 0 and mask.grad.abs().sum() > 0 and module.weight.grad is not None


def test_unprovided_op_raises_a_clear_error_and_provided_ones_are_listed():
    stand_in = table.missing_function('psamask_forward')
    with pytest.raises(MissingMmcvOpError, match="mmcv op 'psamask_forward' is unavailable.*"
                                                 "CL_DENSE_MMCV=full make setup"):
        stand_in(torch.zeros(1))
    with pytest.raises(AttributeError):
        table.missing_function('__path__')
    assert {'roi_align_forward', 'roi_align_backward', 'nms'} <= set(table.exported_functions())


def test_environment_report_names_the_kernels():
    from mmcv.ops import get_compiler_version, get_compiling_cuda_version
    from mmcv import _ext
    if getattr(_ext, 'CL_DENSE_PROVIDED', False):
        assert 'torchvision' in get_compiler_version()
        assert get_compiling_cuda_version() == (torch.version.cuda or 'not available')
