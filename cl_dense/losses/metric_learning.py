"""Pair and triplet losses of metric learning on labelled embeddings (the loss zoo).

All take ``embeddings [N, D]`` and ``labels [N]`` (int64; rows labelled ``ignore_index`` take no
part), compute in float32 (also under autocast) and return a 0-d loss times ``loss_weight``.
Where no pair or triplet qualifies (fewer than two valid rows, a single class, no positive) the
loss is zero with a gradient path, never NaN. Distances are Euclidean with a gradient that stays
finite at zero distance (identical embeddings).
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..ops import supervised_contrast
from ..ops.validation import check_features, check_labels, check_same, nonfinite, raise_on_flags
from .precision import float32_maths
from .registry import register_loss

TRIPLET_MINING = ('batch_hard', 'semi_hard', 'all')


def check_embeddings(embeddings: Tensor, labels: Tensor, name: str = 'embeddings') -> None:
    """``embeddings [N, D]`` floating and finite, ``labels [N]`` int64 on the same device."""
    check_features(name, embeddings)
    check_labels('labels', labels, embeddings.shape[0])
    check_same('device', **{name: embeddings, 'labels': labels})
    raise_on_flags({f'{name} contain NaN or infinite values': nonfinite(embeddings)})


def pairwise_distances(x: Tensor, squared: bool = False) -> Tensor:
    """Euclidean distances ``[N, N]`` between the rows of ``x [N, D]`` (squared if asked).

    The square root has a zero gradient where the distance is 0 (instead of NaN).
    """
    norms = (x * x).sum(1)
    d2 = (norms[:, None] + norms[None, :] - 2 * x @ x.T).clamp(min=0)
    if squared:
        return d2
    positive = d2 > 0
    return torch.where(positive, d2.clamp(min=1e-12).sqrt(), torch.zeros_like(d2))


def pair_masks(labels: Tensor, ignore_index: int) -> tuple[Tensor, Tensor]:
    """``(same, different)`` boolean ``[N, N]``: pairs of valid rows with equal / unequal labels;
    ``same`` excludes the diagonal."""
    valid = labels != ignore_index
    both = valid[:, None] & valid[None, :]
    equal = labels[:, None] == labels[None, :]
    eye = torch.eye(labels.shape[0], dtype=torch.bool, device=labels.device)
    return both & equal & ~eye, both & ~equal


def zero_with_gradient(x: Tensor) -> Tensor:
    """A 0-d zero that keeps ``x`` in the graph (empty cases)."""
    return x.sum() * 0.0


def masked_mean(values: Tensor, mask: Tensor, like: Tensor) -> Tensor:
    """Mean of ``values[mask]``, or a zero with a gradient path through ``like``."""
    if not bool(mask.any()):
        return zero_with_gradient(like)
    return values[mask].mean()


@register_loss
class ContrastivePairLoss(nn.Module):
    """Max-margin contrastive loss over all pairs (Hadsell, Chopra and LeCun, CVPR 2006).

    ``L = mean over valid pairs i < j of [ y_ij d_ij^2 + (1 - y_ij) max(0, m - d_ij)^2 ]`` with
    ``d`` the Euclidean distance and ``y_ij = 1`` for pairs of one class (Hadsell et al. also halve
    both terms). Each unordered pair counts once.

    Args:
        margin: ``m``, the distance beyond which a negative pair costs nothing.
        ignore_index: label of rows that take no part.
        loss_weight: factor on the loss.
    """

    def __init__(self, margin: float = 1.0, ignore_index: int = 255,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if margin <= 0:
            raise ValueError(f'margin must be > 0, got {margin}')
        self.margin, self.ignore_index, self.loss_weight = margin, ignore_index, loss_weight

    @float32_maths
    def forward(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        """``embeddings [N, D]``, ``labels [N]`` -> 0-d loss."""
        check_embeddings(embeddings, labels)
        dist = pairwise_distances(embeddings)
        same, different = pair_masks(labels, self.ignore_index)
        upper = torch.ones_like(same).triu(1)
        per_pair = torch.where(same, dist.pow(2), F.relu(self.margin - dist).pow(2))
        return self.loss_weight * masked_mean(per_pair, (same | different) & upper, embeddings)


@register_loss
class TripletMarginLoss(nn.Module):
    """Triplet loss ``max(0, d(a, p) - d(a, n) + m)`` on the labelled embeddings of a batch.

    Mining (which triplets count):

    * ``'batch_hard'`` (Hermans, Beyer and Leibe 2017): per anchor with a positive and a
      negative, its farthest positive and nearest negative; mean over those anchors.
    * ``'semi_hard'`` (Schroff, Kalenichenko and Philbin, FaceNet, CVPR 2015): per positive pair
      ``(a, p)``, the nearest negative farther than ``p`` (``d(a, n) > d(a, p)``), or the farthest
      negative when none is; mean over positive pairs whose anchor has a negative.
    * ``'all'``: every valid triplet, mean over them (memory ``O(N^3)``: batches of a few
      hundred).

    Args:
        margin: ``m``.
        mining: one of ``'batch_hard'``, ``'semi_hard'``, ``'all'``.
        squared: use squared Euclidean distances.
        ignore_index: label of rows that take no part.
        loss_weight: factor on the loss.
    """

    def __init__(self, margin: float = 0.2, mining: str = 'batch_hard', squared: bool = False,
                 ignore_index: int = 255, loss_weight: float = 1.0) -> None:
        super().__init__()
        if margin < 0:
            raise ValueError(f'margin must be >= 0, got {margin}')
        if mining not in TRIPLET_MINING:
            raise ValueError(f'mining must be one of {TRIPLET_MINING}, got {mining!r}')
        self.margin, self.mining, self.squared = margin, mining, squared
        self.ignore_index, self.loss_weight = ignore_index, loss_weight

    @float32_maths
    def forward(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        """``embeddings [N, D]``, ``labels [N]`` -> 0-d loss."""
        check_embeddings(embeddings, labels)
        dist = pairwise_distances(embeddings, self.squared)
        same, different = pair_masks(labels, self.ignore_index)
        if self.mining == 'batch_hard':
            loss = self._batch_hard(dist, same, different, embeddings)
        elif self.mining == 'semi_hard':
            loss = self._semi_hard(dist, same, different, embeddings)
        else:
            gaps = dist[:, :, None] - dist[:, None, :] + self.margin  # [a, p, n]
            valid = same[:, :, None] & different[:, None, :]
            loss = masked_mean(F.relu(gaps), valid, embeddings)
        return self.loss_weight * loss

    def _batch_hard(self, dist: Tensor, same: Tensor, different: Tensor, like: Tensor) -> Tensor:
        hardest_pos = torch.where(same, dist, torch.full_like(dist, -float('inf'))).amax(1)
        hardest_neg = torch.where(different, dist, torch.full_like(dist, float('inf'))).amin(1)
        usable = same.any(1) & different.any(1)
        return masked_mean(F.relu(hardest_pos - hardest_neg + self.margin), usable, like)

    def _semi_hard(self, dist: Tensor, same: Tensor, different: Tensor, like: Tensor) -> Tensor:
        d_ap = dist[:, :, None]  # [a, p, 1]
        d_an = dist[:, None, :]  # [a, 1, n]
        farther = different[:, None, :] & (d_an > d_ap)  # [a, p, n]
        nearest_farther = torch.where(farther, d_an, torch.full_like(farther, float('inf'),
                                                                     dtype=dist.dtype)).amin(2)
        farthest = torch.where(different, dist, torch.full_like(dist, -float('inf'))).amax(1)
        chosen = torch.where(farther.any(2), nearest_farther, farthest[:, None])  # [a, p]
        usable = same & different.any(1, keepdim=True)
        return masked_mean(F.relu(dist - chosen + self.margin), usable, like)


@register_loss
class NPairLoss(nn.Module):
    """Multi-class N-pair loss (Sohn, NeurIPS 2016), on the streaming contrast op.

    For ``N`` (anchor, positive) pairs ``L = 1/N sum_i log(1 + sum_{j != i} exp(f_i . g_j -
    f_i . g_i))``, i.e. the cross-entropy of the logits ``f_i . g_j`` with target ``i``, plus
    ``l2_reg * 1/N sum_i (|f_i|^2 + |g_i|^2)`` (Sohn et al. regularise the embedding norms; the
    products are not normalised or tempered). With ``labels``, the positives of other pairs of the
    same class are positives too (averaged, as in SupCon) rather than negatives.

    Args:
        l2_reg: weight of the norm regulariser.
        ignore_index: label of pairs that take no part (only with ``labels``).
        loss_weight: factor on the loss.
    """

    def __init__(self, l2_reg: float = 0.0, ignore_index: int = 255,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if l2_reg < 0:
            raise ValueError(f'l2_reg must be >= 0, got {l2_reg}')
        self.l2_reg, self.ignore_index, self.loss_weight = l2_reg, ignore_index, loss_weight

    @float32_maths
    def forward(self, anchors: Tensor, positives: Tensor,
                labels: Optional[Tensor] = None) -> Tensor:
        """``anchors [N, D]``, ``positives [N, D]`` (row i pairs with row i), ``labels [N]`` or
        ``None`` (every pair its own class) -> 0-d loss."""
        if positives.shape != anchors.shape:
            raise ValueError(f'anchors and positives must have one shape, got '
                             f'{tuple(anchors.shape)} and {tuple(positives.shape)}')
        ignore_index = self.ignore_index
        if labels is None:  # pair ids; -1 so that no id is mistaken for the ignore index
            labels, ignore_index = torch.arange(anchors.shape[0], device=anchors.device), -1
        # 'supcon' normalises each anchor over every key: its own positive and the others'
        # (the op checks shapes, finiteness and labels)
        loss = supervised_contrast(anchors, labels, positives, labels, 1.0,
                                   denominator='supcon', ignore_index=ignore_index)
        if self.l2_reg:
            valid = labels != ignore_index
            norms = (anchors.pow(2).sum(1) + positives.pow(2).sum(1))
            loss = loss + self.l2_reg * masked_mean(norms, valid, anchors)
        return self.loss_weight * loss


@register_loss
class LogisticPairLoss(nn.Module):
    """Pairwise logistic (binomial deviance) loss on cosine similarities (Yi, Lei, Liao and Li,
    "Deep metric learning for person re-identification", ICPR 2014).

    With ``s_ij`` the cosine similarity and ``y_ij = +1`` for pairs of one class, ``-1``
    otherwise, each pair costs ``log(1 + exp(-alpha y_ij (s_ij - beta)))``; the loss is the mean
    over positive pairs plus the mean over negative pairs (Yi et al.'s weights ``1/n_pos``,
    ``1/n_neg``, without their extra cost on negatives).

    Args:
        alpha: scale of the similarities (2 in Yi et al.).
        beta: similarity threshold between the classes of pairs (0.5 in Yi et al.).
        ignore_index: label of rows that take no part.
        loss_weight: factor on the loss.
    """

    def __init__(self, alpha: float = 2.0, beta: float = 0.5, ignore_index: int = 255,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if alpha <= 0:
            raise ValueError(f'alpha must be > 0, got {alpha}')
        self.alpha, self.beta = alpha, beta
        self.ignore_index, self.loss_weight = ignore_index, loss_weight

    @float32_maths
    def forward(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        """``embeddings [N, D]`` (normalised here), ``labels [N]`` -> 0-d loss."""
        check_embeddings(embeddings, labels)
        unit = F.normalize(embeddings, dim=1)
        sim = unit @ unit.T
        same, different = pair_masks(labels, self.ignore_index)
        sign = torch.where(same, 1.0, -1.0)
        per_pair = F.softplus(-self.alpha * sign * (sim - self.beta))
        loss = masked_mean(per_pair, same, embeddings) + masked_mean(per_pair, different,
                                                                     embeddings)
        return self.loss_weight * loss
