"""Slow, obvious references used by the loss and sampler tests (loops over images and classes),
and the small random batches they run on."""
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def random_batch(seed: int, num: int = 2, dim: int = 8, size: int = 6, num_classes: int = 3
                 ) -> Tuple[Tensor, Tensor, Tensor]:
    """A small random batch: unit embeddings [num, dim, size, size], labels [num, size, size]
    with the first row ignored (255), decode logits [num, num_classes, size, size]."""
    gen = torch.Generator().manual_seed(seed)
    emb = F.normalize(torch.randn(num, dim, size, size, generator=gen), dim=1)
    labels = torch.randint(0, num_classes, (num, size, size), generator=gen)
    labels[:, 0] = 255
    logits = torch.randn(num, num_classes, size, size, generator=gen)
    return emb, labels, logits


def hard_easy_counts(labels: Tensor, preds: Optional[Tensor], max_samples: int, max_views: int,
                     ignore_index: int = 255) -> Dict[Tuple[int, int], Tuple[int, int]]:
    """ContrastiveSeg's rule written as its per-image, per-class loop.

    Args:
        labels, preds: [N, P] long.

    Returns:
        {(image, class): (hard anchors, easy anchors)} for every candidate pair.
    """
    candidates = []
    for n in range(labels.shape[0]):
        for c in torch.unique(labels[n]).tolist():
            if c != ignore_index and int((labels[n] == c).sum()) > max_views:
                candidates.append((n, c))
    if not candidates:
        return {}
    n_view = min(max_samples // len(candidates), max_views)
    counts = {}
    for n, c in candidates:
        is_c = labels[n] == c
        wrong = preds[n] != c if preds is not None else torch.zeros_like(is_c)
        num_hard, num_easy = int((is_c & wrong).sum()), int((is_c & ~wrong).sum())
        if num_hard >= n_view / 2 and num_easy >= n_view / 2:
            keep_hard = n_view // 2
            keep_easy = n_view - keep_hard
        elif num_hard >= n_view / 2:
            keep_easy = num_easy
            keep_hard = n_view - keep_easy
        else:
            keep_hard = num_hard
            keep_easy = n_view - keep_hard
        counts[(n, c)] = (keep_hard, keep_easy)
    return counts


def contrast_loss(anchors: Tensor, anchor_labels: Tensor, keys: Tensor, key_labels: Tensor,
                  temperature: float, base_temperature: float, denominator: str,
                  exclude_self: bool, ignore_index: int = 255) -> Tensor:
    """The pixel contrast formula of methods.md, one anchor and one positive at a time.

    ContrastiveSeg: L_i = -(t/t_b) mean_p [s_ip - log(exp(s_ip) + sum_n exp(s_in))];
    SupCon: L_i = -(t/t_b) mean_p [s_ip - log(sum_{k != i} exp(s_ik))].
    Keys labelled ``ignore_index`` take no part; with ``exclude_self`` key i is anchor i.
    Returns the mean over anchors that have a positive (0 when none has).
    """
    per_anchor = []
    for i in range(anchors.shape[0]):
        sims = (keys.double() @ anchors[i].double()) / temperature
        others = [k for k in range(keys.shape[0])
                  if key_labels[k] != ignore_index and not (exclude_self and k == i)]
        positives = [k for k in others if key_labels[k] == anchor_labels[i]]
        negatives = [k for k in others if key_labels[k] != anchor_labels[i]]
        if not positives:
            continue
        terms = []
        for p in positives:
            if denominator == 'contrastiveseg':
                log_den = torch.logsumexp(sims[[p] + negatives], 0)
            else:
                log_den = torch.logsumexp(sims[others], 0)
            terms.append(sims[p] - log_den)
        per_anchor.append(-(temperature / base_temperature) * torch.stack(terms).mean())
    if not per_anchor:
        return torch.zeros((), dtype=torch.float64)
    return torch.stack(per_anchor).mean()
