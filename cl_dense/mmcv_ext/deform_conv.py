"""mmcv's deformable convolution ops (DCN v1 ``deform_conv_*`` and v2 ``modulated_deform_conv_*``)
on torchvision's ``deform_conv2d`` kernels (CPU and CUDA).

Both use the original DCN layout: offset [N, 2 * deform_groups * kh * kw, H_out, W_out] with
(dy, dx) pairs per kernel tap, mask [N, deform_groups * kh * kw, H_out, W_out]. The backward
functions recompute the forward with autograd and write the gradients mmcv's kernels write.
"""
from typing import Optional

from torch import Tensor
from torchvision.ops import deform_conv2d

from .recompute import grads_by_recompute


def _dcn(input: Tensor, weight: Tensor, offset: Tensor, mask: Optional[Tensor],
         bias: Optional[Tensor], stride: tuple[int, int], padding: tuple[int, int],
         dilation: tuple[int, int]) -> Tensor:
    return deform_conv2d(input, offset, weight, bias=bias, stride=stride, padding=padding,
                         dilation=dilation, mask=mask)


def _check_groups(input: Tensor, weight: Tensor, group: int) -> None:
    if input.size(1) != weight.size(1) * group:
        raise ValueError(f'deform_conv: input has {input.size(1)} channels but weight '
                         f'{tuple(weight.shape)} with group={group} expects {weight.size(1) * group}')


def deform_conv_forward(input: Tensor, weight: Tensor, offset: Tensor, output: Tensor,
                        columns: Tensor, ones: Tensor, kW: int, kH: int, dW: int, dH: int,
                        padW: int, padH: int, dilationW: int, dilationH: int, group: int,
                        deformable_group: int, im2col_step: int) -> None:
    """Write DCN v1 of ``input`` [N, C, H, W] into ``output`` [N, C_out, H_out, W_out]."""
    _check_groups(input, weight, group)
    output.copy_(_dcn(input, weight, offset, None, None, (dH, dW), (padH, padW),
                      (dilationH, dilationW)))


def deform_conv_backward_input(input: Tensor, offset: Tensor, grad_output: Tensor,
                               grad_input: Tensor, grad_offset: Tensor, weight: Tensor,
                               columns: Tensor, kW: int, kH: int, dW: int, dH: int, padW: int,
                               padH: int, dilationW: int, dilationH: int, group: int,
                               deformable_group: int, im2col_step: int) -> None:
    """Write the gradients w.r.t. input and offset."""
    g_input, g_offset = grads_by_recompute(
        lambda x, off: _dcn(x, weight, off, None, None, (dH, dW), (padH, padW),
                            (dilationH, dilationW)), [input, offset], grad_output)
    grad_input.copy_(g_input)
    grad_offset.copy_(g_offset)


def deform_conv_backward_parameters(input: Tensor, offset: Tensor, grad_output: Tensor,
                                    grad_weight: Tensor, columns: Tensor, ones: Tensor, kW: int,
                                    kH: int, dW: int, dH: int, padW: int, padH: int,
                                    dilationW: int, dilationH: int, group: int,
                                    deformable_group: int, scale: float,
                                    im2col_step: int) -> None:
    """Add ``scale`` times the gradient w.r.t. the weight into ``grad_weight``."""
    # the weight's value does not enter d(out)/d(weight): differentiate at zeros of its shape
    (g_weight,) = grads_by_recompute(
        lambda w: _dcn(input, w, offset, None, None, (dH, dW), (padH, padW),
                       (dilationH, dilationW)), [grad_weight.new_zeros(grad_weight.shape)],
        grad_output)
    grad_weight.add_(g_weight, alpha=scale)


def modulated_deform_conv_forward(input: Tensor, weight: Tensor, bias: Tensor, ones: Tensor,
                                  offset: Tensor, mask: Tensor, output: Tensor, columns: Tensor,
                                  kernel_h: int, kernel_w: int, stride_h: int, stride_w: int,
                                  pad_h: int, pad_w: int, dilation_h: int, dilation_w: int,
                                  group: int, deformable_group: int, with_bias: bool) -> None:
    """Write DCN v2 (offsets and modulation ``mask``) of ``input`` into ``output``."""
    _check_groups(input, weight, group)
    output.copy_(_dcn(input, weight, offset, mask, bias if with_bias else None,
                      (stride_h, stride_w), (pad_h, pad_w), (dilation_h, dilation_w)))


def modulated_deform_conv_backward(input: Tensor, weight: Tensor, bias: Tensor, ones: Tensor,
                                   offset: Tensor, mask: Tensor, columns: Tensor,
                                   grad_input: Tensor, grad_weight: Tensor, grad_bias: Tensor,
                                   grad_offset: Tensor, grad_mask: Tensor, grad_output: Tensor,
                                   kernel_h: int, kernel_w: int, stride_h: int, stride_w: int,
                                   pad_h: int, pad_w: int, dilation_h: int, dilation_w: int,
                                   group: int, deformable_group: int, with_bias: bool) -> None:
    """Write the gradients w.r.t. input, weight, bias (when ``with_bias``), offset and mask."""
    tensors = [input, weight, offset, mask] + ([bias] if with_bias else [])
    grads = grads_by_recompute(
        lambda x, w, off, m, *b: _dcn(x, w, off, m, b[0] if b else None, (stride_h, stride_w),
                                      (pad_h, pad_w), (dilation_h, dilation_w)),
        tensors, grad_output)
    targets = [grad_input, grad_weight, grad_offset, grad_mask] + ([grad_bias] if with_bias else [])
    for target, grad in zip(targets, grads):
        target.copy_(grad)
