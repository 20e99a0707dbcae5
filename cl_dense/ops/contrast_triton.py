"""Triton implementation of the supervised-contrast passes (the CUDA backend).

Same interface and results as ``contrast_cpu`` (float32 accumulation); the tiles of
``triton_kernels`` replace the chunks, so ``chunk_size`` is not used here. Runs on CPU tensors
under ``TRITON_INTERPRET=1``, which is how the tests check it without a GPU.
"""
import torch
import triton
from torch import Tensor

from . import triton_kernels as kernels
from .contrast_plan import ContrastPlan, ForwardStats

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
    block_d = max(16, triton.next_power_of_2(keys.shape[1]))
    return dict(a_ptr=anchors_scaled.contiguous(), a_lab_ptr=plan.anchor_labels.contiguous(),
                self_ptr=self_pos.contiguous(), keys_ptr=keys.contiguous(),
                order_ptr=order.contiguous(), k_lab_ptr=plan.key_labels.contiguous(), n=n,
                m=plan.num_keys, D=keys.shape[1], BLOCK_A=BLOCK_ANCHORS, BLOCK_K=BLOCK_KEYS,
                BLOCK_D=block_d, num_warps=8 if block_d >= 128 else 4)


def class_blocks(plan: ContrastPlan) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Anchor blocks of the positive pass, each within one class: ``(first_row, end_row,
    key_lo, key_hi)``, ``[B]`` int64 each.

    Block ``b`` takes the plan's anchors ``[first_row, min(first_row + BLOCK_ANCHORS, end_row))``
    (``end_row`` is the end of their class's rows) and reads only the sorted key positions
    ``[key_lo, key_hi)`` of that class. A class of ``r`` anchors takes ``ceil(r / BLOCK_ANCHORS)``
    blocks. One host synchronisation (the number of blocks sizes the grid).
    """
    device = plan.anchor_labels.device
    _, counts = torch.unique_consecutive(plan.anchor_labels, return_counts=True)
    class_end = counts.cumsum(0)
    class_start = class_end - counts
    blocks_per_class = (counts + BLOCK_ANCHORS - 1) // BLOCK_ANCHORS
    block_class = torch.repeat_interleave(blocks_per_class)
    first_block = blocks_per_class.cumsum(0) - blocks_per_class
    within = torch.arange(block_class.shape[0], device=device) - first_block[block_class]
    start = class_start[block_class]
    return (start + within * BLOCK_ANCHORS, class_end[block_class],
            plan.pos_lo[start], plan.pos_hi[start])


def forward_stats(plan: ContrastPlan, anchors: Tensor, keys: Tensor, temperature: float,
                  supcon: bool, chunk_size: int, dtype: torch.dtype,
                  with_keys: bool) -> ForwardStats:
    """See ``contrast_cpu.forward_stats`` (float32 here)."""
    args = _layout(plan, anchors, keys, temperature)
    grid = (triton.cdiv(plan.num_anchors, BLOCK_ANCHORS),)
    log_z = torch.empty(plan.num_anchors, dtype=torch.float32, device=keys.device)
    row_max, pos_sum = torch.empty_like(log_z), torch.empty_like(log_z)
    key_sums = (plan.num_anchors, keys.shape[1]) if with_keys else (0, keys.shape[1])
    exp_keys = log_z.new_empty(key_sums)
    pos_keys = log_z.new_empty(key_sums)
    kernels.denominator_kernel[grid](log_z_ptr=log_z, row_max_ptr=row_max, pos_sum_ptr=pos_sum,
                                     exp_keys_ptr=exp_keys, pos_keys_ptr=pos_keys,
                                     EXCLUDE_SAME=not supcon, WITH_KEYS=with_keys, **args)
    pos_term, pos_weight = pos_sum, torch.zeros_like(log_z)
    if not supcon:
        first_row, end_row, key_lo, key_hi = class_blocks(plan)
        pos_term, pos_weight = torch.empty_like(log_z), torch.empty_like(log_z)
        kernels.positive_kernel[(first_row.shape[0],)](
            log_z_ptr=log_z, block_row_ptr=first_row, block_end_ptr=end_row, block_lo_ptr=key_lo,
            block_hi_ptr=key_hi, softplus_ptr=pos_term, sigmoid_ptr=pos_weight,
            pos_keys_ptr=pos_keys, WITH_KEYS=with_keys, **args)
    return ForwardStats(log_z=log_z, pos_term=pos_term, pos_weight=pos_weight, row_max=row_max,
                        exp_keys=exp_keys if with_keys else None,
                        pos_keys=pos_keys if with_keys else None)


def backward_keys(plan: ContrastPlan, anchors: Tensor, keys: Tensor, temperature: float,
                  supcon: bool, chunk_size: int, dtype: torch.dtype, shift: Tensor,
                  pos_coef: Tensor, log_z: Tensor) -> Tensor:
    """See ``contrast_cpu.backward_keys``."""
    args = _layout(plan, anchors, keys, temperature)
    grad_k = torch.zeros(keys.shape, dtype=torch.float32, device=keys.device)
    kernels.grad_key_kernel[(triton.cdiv(plan.num_keys, BLOCK_KEYS),)](
        shift_ptr=shift.float().contiguous(), coef_ptr=pos_coef.float().contiguous(),
        log_z_ptr=log_z.float().contiguous(), grad_ptr=grad_k, EXCLUDE_SAME=not supcon, **args)
    return grad_k


def scatter_rows(bank: Tensor, feats: Tensor, dest: Tensor) -> None:
    """``bank.view(-1, D)[dest[r]] = feats[r]`` where ``dest[r] >= 0``, in place."""
    if feats.shape[0] == 0:
        return
    dim = bank.shape[2]
    kernels.scatter_rows_kernel[(feats.shape[0],)](
        bank, feats.contiguous(), dest.contiguous(), dim,
        BLOCK_D=triton.next_power_of_2(dim))
