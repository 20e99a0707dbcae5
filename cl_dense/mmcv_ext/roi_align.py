"""``roi_align_forward`` / ``roi_align_backward`` of mmcv on torchvision's RoIAlign kernels.

mmcv's and torchvision's average-pooled RoIAlign are the same algorithm (Detectron's: bilinear
samples on a ``sampling_ratio`` grid per bin, adaptive ``ceil(roi_size / bin_count)`` when 0,
``aligned`` shifts the box by -0.5 px, unaligned boxes are at least 1 px). Max pooling
(``pool_mode=0``) has no torchvision kernel and raises :class:`MissingMmcvOpError`.
"""
import torch
from torch import Tensor

from .errors import MissingMmcvOpError

_AVG = 1


def _check_pool_mode(pool_mode: int) -> None:
    if pool_mode != _AVG:
        raise MissingMmcvOpError('roi_align', "pool_mode='max' has no torchvision kernel")


def roi_align_forward(input: Tensor, rois: Tensor, output: Tensor, argmax_y: Tensor,
                      argmax_x: Tensor, aligned_height: int, aligned_width: int,
                      spatial_scale: float, sampling_ratio: int, pool_mode: int,
                      aligned: bool) -> None:
    """Fill ``output`` [K, C, aligned_height, aligned_width] with RoIAlign of ``input`` [N, C, H, W]
    over ``rois`` [K, 5] (batch index, x1, y1, x2, y2), in place, as mmcv's kernel does."""
    _check_pool_mode(pool_mode)
    if rois.numel() == 0:
        return
    pooled = torch.ops.torchvision.roi_align(
        input, rois.to(input.dtype), float(spatial_scale), int(aligned_height),
        int(aligned_width), int(sampling_ratio), bool(aligned))
    output.copy_(pooled)


def roi_align_backward(grad_output: Tensor, rois: Tensor, argmax_y: Tensor, argmax_x: Tensor,
                       grad_input: Tensor, aligned_height: int, aligned_width: int,
                       spatial_scale: float, sampling_ratio: int, pool_mode: int,
                       aligned: bool) -> None:
    """Add the gradient of RoIAlign w.r.t. its input into ``grad_input`` [N, C, H, W] (zeros on
    entry), from ``grad_output`` [K, C, aligned_height, aligned_width]."""
    _check_pool_mode(pool_mode)
    if rois.numel() == 0:
        return
    batch, channels, height, width = grad_input.shape
    grad = torch.ops.torchvision._roi_align_backward(
        grad_output.contiguous(), rois.to(grad_output.dtype), float(spatial_scale),
        int(aligned_height), int(aligned_width), batch, channels, height, width,
        int(sampling_ratio), bool(aligned))
    grad_input.add_(grad)
