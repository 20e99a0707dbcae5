"""ORE's contrastive clustering: a hinge loss pulling features to their class prototype and pushing
them a margin away from the other prototypes (Joseph et al., CVPR 2021)."""
from typing import Dict

import torch
from torch import Tensor, nn

from ..ops.validation import check_features, check_labels, check_positive
from .registry import check_loss_name, register_loss

FORMS = ('paper', 'public')


@register_loss
class PrototypeClusteringLoss(nn.Module):
    """Hinge clustering loss of features ``f`` (label ``c``) against class prototypes ``p_j``.

    ``form='paper'`` (default), ORE's equation with the Euclidean distance ``D``::

        l(f) = D(f, p_c) + sum_{j != c} max(0, margin - D(f, p_j)),   loss = mean_f l(f)

    ``form='public'``, what the public code computes: ``D_p`` is the p-norm distance with
    ``p = public_p`` (the public code passed its margin, 10, as ``p``), each (feature, prototype)
    pair goes through ``torch.nn.HingeEmbeddingLoss(margin=public_hinge_margin)`` (target +1 for
    ``j == c``, -1 otherwise) and the loss is the mean over all ``N x C'`` pairs.

    Only prototypes flagged ``valid`` take part (``C'`` of them), and only features whose class has
    a valid prototype; no such feature gives a zero loss with a gradient path.

    Args:
        margin: the paper form's hinge margin (Delta).
        form: ``'paper'`` or ``'public'``.
        public_p: p of the public form's distance.
        public_hinge_margin: the public form's hinge margin.
        loss_weight: factor on the loss (ORE: 0.1).
        loss_name: dict key of the loss; must start with ``loss_``.
    """

    def __init__(self, margin: float = 10.0, form: str = 'paper', public_p: float = 10.0,
                 public_hinge_margin: float = 2.0, loss_weight: float = 0.1,
                 loss_name: str = 'loss_cluster') -> None:
        super().__init__()
        if form not in FORMS:
            raise ValueError(f'form must be one of {FORMS}, got {form!r}')
        for name, value in (('margin', margin), ('public_p', public_p),
                            ('public_hinge_margin', public_hinge_margin)):
            check_positive(name, value)
        check_loss_name(loss_name)
        self.margin = margin
        self.form = form
        self.public_p = public_p
        self.public_hinge_margin = public_hinge_margin
        self.loss_weight = loss_weight
        self.loss_name = loss_name

    def forward(self, features: Tensor, labels: Tensor, prototypes: Tensor,
                valid: Tensor) -> Dict[str, Tensor]:
        """Weighted loss and the number of features that took part.

        Args:
            features: [N, D] (float; computed in float32 or float64).
            labels: [N] int64 class of each feature, in ``[0, C)``.
            prototypes: [C, D] class prototypes.
            valid: [C] bool, which prototypes exist.

        Returns:
            ``{loss_name: 0-d tensor, '<name>_rois': 0-d float tensor}`` (``<name>`` is
            ``loss_name`` without ``loss_``).
        """
        check_features('features', features)
        check_labels('labels', labels, features.shape[0])
        check_features('prototypes', prototypes, features.shape[1])
        if valid.dtype != torch.bool or valid.shape != prototypes.shape[:1]:
            raise ValueError(f'valid must be a bool tensor of shape [{prototypes.shape[0]}], got '
                             f'{valid.dtype} {tuple(valid.shape)}')
        if labels.numel() and bool(((labels < 0) | (labels >= prototypes.shape[0])).any()):
            raise ValueError(f'labels must lie in [0, {prototypes.shape[0]}), got '
                             f'{labels.unique().tolist()}')
        dtype = torch.promote_types(features.dtype, torch.float32)
        keep = valid[labels]
        feats, labels = features.to(dtype)[keep], labels[keep]
        protos = prototypes.to(dtype)[valid]
        # column of each kept feature's own prototype among the valid ones
        own = (torch.cumsum(valid.long(), 0) - 1)[labels]
        if feats.shape[0] == 0:
            loss = features.sum() * 0.0
        elif self.form == 'paper':
            dist = torch.cdist(feats, protos)
            is_own = nn.functional.one_hot(own, protos.shape[0]).bool()
            hinge = (self.margin - dist).clamp(min=0)
            loss = torch.where(is_own, dist, hinge).sum(1).mean()
        else:
            dist = torch.cdist(feats, protos, p=self.public_p)
            target = torch.full_like(dist, -1.0)
            target[torch.arange(dist.shape[0]), own] = 1.0
            loss = nn.functional.hinge_embedding_loss(dist, target, self.public_hinge_margin)
        prefix = self.loss_name[len('loss_'):]
        return {self.loss_name: self.loss_weight * loss,
                f'{prefix}_rois': torch.tensor(float(feats.shape[0]), device=features.device)}
