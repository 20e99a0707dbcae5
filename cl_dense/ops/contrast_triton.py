"""Triton implementation of the supervised-contrast passes (the CUDA backend).

Same interface and results as ``contrast_cpu`` (float32 accumulation); the tiles of
``triton_kernels`` replace the chunks, so ``chunk_size`` is not used here. Runs on CPU tensors
under ``TRITON_INTERPRET=1``, which is how the tests check it without a GPU.
"""
from typing import Optional

import torch
import triton
from torch import Tensor

from . import triton_kernels as kernels
from .contrast_plan import ContrastPlan

BLOCK_ANCHORS = 32
BLOCK_KEYS = 32


def _layout(plan: ContrastPlan, anchors: Tensor, keys: Tensor, temperature: float) -> dict:
    """Kernel arguments common to all passes (see ``triton_kernels``)."""
    n = plan.num_anchors
    order = plan.key_order
    if order is None:
        order = torch.arange(plan.num_keys, device=keys.device)
    self_pos = plan.self_pos
    if self_pos is None:
        self_pos = torch.full((n,), -1, dtype=torch.int64, device=keys.device)
    anchors_scaled = anchors.index_select(0, plan.anchor_index).float() / temperature
    return dict(a_ptr=anchors_scaled.contiguous(), a_lab_ptr=plan.anchor_labels.contiguous(),
                self_ptr=self_pos.contiguous(), keys_ptr=keys.contiguous(),
                order_ptr=order.contiguous(), k_lab_ptr=plan.key_labels.contiguous(), n=n,
                m=plan.num_keys, D=keys.shape[1], BLOCK_A=BLOCK_ANCHORS, BLOCK_K=BLOCK_KEYS,
                BLOCK_D=max(16, triton.next_power_of_2(keys.shape[1])))


def _block_key_ranges(plan: ContrastPlan) -> tuple[Tensor, Tensor]:
    """Per anchor block, the sorted key range covering its anchors' classes."""
    pad = -plan.num_anchors % BLOCK_ANCHORS
    lo = torch.nn.functional.pad(plan.pos_lo, (0, pad), value=plan.num_keys)
    hi = torch.nn.functional.pad(plan.pos_hi, (0, pad), value=0)
    return (lo.view(-1, BLOCK_ANCHORS).amin(1).contiguous(),
            hi.view(-1, BLOCK_ANCHORS).amax(1).contiguous())


def forward_stats(plan: ContrastPlan, anchors: Tensor, keys: Tensor, temperature: float,
                  supcon: bool, chunk_size: int,
                  dtype: torch.dtype) -> tuple[Tensor, Tensor, Tensor]:
    """See ``contrast_cpu.forward_stats`` (``dtype`` is float32 here)."""
    args = _layout(plan, anchors, keys, temperature)
    grid = (triton.cdiv(plan.num_anchors, BLOCK_ANCHORS),)
    log_z = torch.empty(plan.num_anchors, dtype=torch.float32, device=keys.device)
    pos_sum = torch.empty_like(log_z)
    kernels.denominator_kernel[grid](log_z_ptr=log_z, pos_sum_ptr=pos_sum,
                                     EXCLUDE_SAME=not supcon, **args)
    if supcon:
        return log_z, pos_sum, torch.zeros_like(log_z)
    block_lo, block_hi = _block_key_ranges(plan)
    softplus, sigmoid = torch.empty_like(log_z), torch.empty_like(log_z)
    kernels.positive_kernel[grid](log_z_ptr=log_z, block_lo_ptr=block_lo, block_hi_ptr=block_hi,
                                  softplus_ptr=softplus, sigmoid_ptr=sigmoid, **args)
    return log_z, softplus, sigmoid


def backward_grads(plan: ContrastPlan, anchors: Tensor, keys: Tensor, temperature: float,
                   supcon: bool, chunk_size: int, dtype: torch.dtype, shift: Tensor,
                   pos_coef: Tensor, log_z: Tensor,
                   keys_grad: bool) -> tuple[Tensor, Optional[Tensor]]:
    """See ``contrast_cpu.backward_grads``."""
    args = _layout(plan, anchors, keys, temperature)
    args.update(shift_ptr=shift.float().contiguous(), coef_ptr=pos_coef.float().contiguous(),
                log_z_ptr=log_z.float().contiguous(), EXCLUDE_SAME=not supcon)
    grad_a = torch.empty((plan.num_anchors, keys.shape[1]), dtype=torch.float32,
                         device=keys.device)
    kernels.grad_anchor_kernel[(triton.cdiv(plan.num_anchors, BLOCK_ANCHORS),)](
        grad_ptr=grad_a, **args)
    grad_k = None
    if keys_grad:
        grad_k = torch.zeros(keys.shape, dtype=torch.float32, device=keys.device)
        kernels.grad_key_kernel[(triton.cdiv(plan.num_keys, BLOCK_KEYS),)](grad_ptr=grad_k, **args)
    return grad_a / temperature, grad_k


def scatter_rows(bank: Tensor, feats: Tensor, dest: Tensor) -> None:
    """``bank.view(-1, D)[dest[r]] = feats[r]`` where ``dest[r] >= 0``, in place."""
    if feats.shape[0] == 0:
        return
    dim = bank.shape[2]
    kernels.scatter_rows_kernel[(feats.shape[0],)](
        bank, feats.contiguous(), dest.contiguous(), dim,
        BLOCK_D=triton.next_power_of_2(dim))
