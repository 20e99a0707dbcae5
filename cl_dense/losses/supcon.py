"""Multi-view supervised contrast (SupCon) and its unsupervised case NT-Xent (SimCLR), in-batch,
on the streaming contrast op."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..ops import supervised_contrast
from .precision import float32_maths
from .registry import register_loss


def views_as_anchors(features: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """``features [N, V, D]`` (V views of N samples) and ``labels [N]`` as ``[N * V, D]``
    anchors, view-major (all first views, then all second views...), with their labels."""
    if features.dim() != 3:
        raise ValueError(f'features must be [N, V, D] (V views per sample), got '
                         f'{tuple(features.shape)}')
    if labels.dim() != 1 or labels.shape[0] != features.shape[0]:
        raise ValueError(f'labels must be [{features.shape[0]}], got {tuple(labels.shape)}')
    num, views, dim = features.shape
    return features.transpose(0, 1).reshape(num * views, dim), labels.repeat(views)


@register_loss
class SupConLoss(nn.Module):
    """Supervised contrastive loss (Khosla et al., NeurIPS 2020), all views as anchors.

    Every view of every sample is an anchor contrasted against all other views in the batch:
    ``L_i = -(t / t_b) 1/|P(i)| sum_{p in P(i)} log(exp(s_ip) / sum_{k != i} exp(s_ik))`` with
    ``s = z_i . z_k / t`` on L2-normalised features and ``P(i)`` the other views with ``i``'s
    label; mean over anchors with a positive. ``labels=None`` makes every sample its own class:
    the positives are the sample's other views, which is NT-Xent (SimCLR, Chen et al. ICML 2020).

    Args:
        temperature: ``t`` (0.1 in Khosla et al.).
        base_temperature: ``t_b`` (0.07 in Khosla et al.'s code); ``None`` means ``t``.
        ignore_index: label of samples that take no part.
        loss_weight: factor on the loss.
    """

    def __init__(self, temperature: float = 0.1, base_temperature: Optional[float] = 0.07,
                 ignore_index: int = 255, loss_weight: float = 1.0) -> None:
        super().__init__()
        if temperature <= 0 or (base_temperature is not None and base_temperature <= 0):
            raise ValueError(f'temperature ({temperature}) and base_temperature '
                             f'({base_temperature}) must be > 0')
        self.temperature = temperature
        self.base_temperature = temperature if base_temperature is None else base_temperature
        self.ignore_index, self.loss_weight = ignore_index, loss_weight

    @float32_maths
    def forward(self, features: Tensor, labels: Optional[Tensor] = None) -> Tensor:
        """``features [N, V, D]`` (normalised here), ``labels [N]`` int64 or ``None`` -> 0-d
        loss (zero with a gradient path when no anchor has a positive)."""
        ignore_index = self.ignore_index
        if labels is None:  # sample ids; -1 so that no id is mistaken for the ignore index
            labels, ignore_index = torch.arange(features.shape[0], device=features.device), -1
        anchors, anchor_labels = views_as_anchors(F.normalize(features, dim=-1), labels)
        loss = supervised_contrast(anchors, anchor_labels, None, None, self.temperature,
                                   self.base_temperature, 'supcon', ignore_index,
                                   self_contrast=True)
        return self.loss_weight * loss


@register_loss
class NTXentLoss(SupConLoss):
    """NT-Xent, SimCLR's normalised temperature-scaled cross-entropy (Chen et al., ICML 2020):
    :class:`SupConLoss` with every sample its own class and ``t_b = t``.

    ``features [N, V, D]``: the views of one sample are positives of each other (V = 2 in SimCLR);
    every other view in the batch is a negative.

    Args:
        temperature: ``t`` (0.1 as in mmselfsup's SimCLR; the paper sweeps 0.05-1.0).
        loss_weight: factor on the loss.
    """

    def __init__(self, temperature: float = 0.1, loss_weight: float = 1.0) -> None:
        super().__init__(temperature, None, loss_weight=loss_weight)

    def forward(self, features: Tensor, labels: None = None) -> Tensor:
        """``features [N, V, D]`` -> 0-d loss."""
        if labels is not None:
            raise ValueError('NTXentLoss takes no labels (use SupConLoss for labelled samples)')
        return super().forward(features)
