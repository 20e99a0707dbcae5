"""mmcv's ``sigmoid_focal_loss_forward`` / ``_backward`` in torch (mmdet calls them on CUDA).

Per element (i, c) with ``p = sigmoid(input[i, c])`` and ``t = target[i]`` (``t == C`` is
background), the loss is ``-alpha (1 - p)^gamma log p`` where ``c == t`` and
``-(1 - alpha) p^gamma log(1 - p)`` elsewhere, times ``weight[t]`` when a per-class weight is given.
The backward recomputes this with autograd (the gradient w.r.t. the logits, not yet multiplied by
the incoming gradient, as mmcv's kernel returns it).
"""
import torch
import torch.nn.functional as F
from torch import Tensor

from .recompute import grads_by_recompute


def _elementwise_loss(input: Tensor, target: Tensor, weight: Tensor, gamma: float,
                      alpha: float) -> Tensor:
    """[N, C] focal loss of logits ``input`` [N, C] and class indices ``target`` [N] in 0..C."""
    num_classes = input.size(1)
    positive = F.one_hot(target.long(), num_classes + 1)[:, :num_classes].to(torch.bool)
    prob = input.sigmoid()
    loss_pos = -alpha * (1 - prob).pow(gamma) * F.logsigmoid(input)
    loss_neg = -(1 - alpha) * prob.pow(gamma) * F.logsigmoid(-input)
    loss = torch.where(positive, loss_pos, loss_neg)
    if weight.numel() > 0:
        if bool((target >= num_classes).any()):
            raise ValueError('sigmoid_focal_loss: a per-class weight needs every target < num_classes')
        loss = loss * weight[target.long()].unsqueeze(1)
    return loss


def sigmoid_focal_loss_forward(input: Tensor, target: Tensor, weight: Tensor, output: Tensor,
                               gamma: float, alpha: float) -> None:
    """Write the [N, C] elementwise loss into ``output``."""
    output.copy_(_elementwise_loss(input, target, weight, gamma, alpha))


def sigmoid_focal_loss_backward(input: Tensor, target: Tensor, weight: Tensor, grad_input: Tensor,
                                gamma: float, alpha: float) -> None:
    """Write d(elementwise loss)/d(input) [N, C] into ``grad_input``."""
    (grad,) = grads_by_recompute(
        lambda logits: _elementwise_loss(logits, target, weight, gamma, alpha), [input],
        torch.ones_like(input))
    grad_input.copy_(grad)
