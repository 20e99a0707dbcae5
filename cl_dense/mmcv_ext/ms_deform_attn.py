"""mmcv's ``ms_deform_attn_forward`` / ``_backward`` (Deformable DETR's multi-scale deformable
attention; mmcv calls the kernel on CUDA only) in torch, by bilinear ``grid_sample`` per level.

Shapes: value [B, S, H, D] (S = sum of the levels' h * w), spatial_shapes [L, 2] (h, w),
level_start_index [L], sampling_locations [B, Q, H, L, P, 2] (x, y in 0..1), attention_weights
[B, Q, H, L, P]; output [B, Q, H * D]. The backward recomputes the forward with autograd.
"""
import torch
import torch.nn.functional as F
from torch import Tensor

from .recompute import grads_by_recompute


def _deform_attn(value: Tensor, spatial_shapes: Tensor, sampling_locations: Tensor,
                 attention_weights: Tensor) -> Tensor:
    batch, _, heads, dim = value.shape
    _, queries, _, levels, points, _ = sampling_locations.shape
    sizes = [int(h) * int(w) for h, w in spatial_shapes.tolist()]
    grids = 2 * sampling_locations - 1
    sampled = []
    for level, value_level in enumerate(value.split(sizes, dim=1)):
        h, w = (int(x) for x in spatial_shapes[level].tolist())
        # [B, h*w, H, D] -> [B*H, D, h, w]
        value_level = value_level.flatten(2).transpose(1, 2).reshape(batch * heads, dim, h, w)
        # [B, Q, H, P, 2] -> [B*H, Q, P, 2]
        grid = grids[:, :, :, level].transpose(1, 2).flatten(0, 1)
        sampled.append(F.grid_sample(value_level, grid, mode='bilinear', padding_mode='zeros',
                                     align_corners=False))  # [B*H, D, Q, P]
    # [B, Q, H, L, P] -> [B*H, 1, Q, L*P]
    weights = attention_weights.transpose(1, 2).reshape(batch * heads, 1, queries, levels * points)
    output = (torch.stack(sampled, dim=-2).flatten(-2) * weights).sum(-1)  # [B*H, D, Q]
    return output.view(batch, heads * dim, queries).transpose(1, 2).contiguous()


def ms_deform_attn_forward(value: Tensor, value_spatial_shapes: Tensor,
                           value_level_start_index: Tensor, sampling_locations: Tensor,
                           attention_weights: Tensor, im2col_step: int) -> Tensor:
    """The attention output [B, Q, H * D]."""
    return _deform_attn(value, value_spatial_shapes, sampling_locations, attention_weights)


def ms_deform_attn_backward(value: Tensor, value_spatial_shapes: Tensor,
                            value_level_start_index: Tensor, sampling_locations: Tensor,
                            attention_weights: Tensor, grad_output: Tensor, grad_value: Tensor,
                            grad_sampling_loc: Tensor, grad_attn_weight: Tensor,
                            im2col_step: int) -> None:
    """Write the gradients w.r.t. value, sampling locations and attention weights in place."""
    grads = grads_by_recompute(
        lambda v, loc, w: _deform_attn(v, value_spatial_shapes, loc, w),
        [value, sampling_locations, attention_weights], grad_output)
    for target, grad in zip((grad_value, grad_sampling_loc, grad_attn_weight), grads):
        target.copy_(grad)
