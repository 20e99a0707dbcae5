"""Backward of an mmcv op by recomputing its torch forward under autograd."""
from typing import Callable, Sequence

import torch
from torch import Tensor


def grads_by_recompute(fn: Callable[..., Tensor], inputs: Sequence[Tensor],
                       grad_output: Tensor) -> tuple[Tensor, ...]:
    """Gradients of ``fn(*inputs)`` w.r.t. each of ``inputs``, weighted by ``grad_output``.

    The inputs are detached first, so this works inside an ``once_differentiable`` backward and
    under ``torch.no_grad``; ``fn`` closes over the op's other (non-differentiated) arguments.
    """
    with torch.enable_grad():
        leaves = [t.detach().requires_grad_(True) for t in inputs]
        return torch.autograd.grad(fn(*leaves), leaves, grad_output)
