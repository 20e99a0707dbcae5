"""Slow, obvious reference implementations used by the tests and the benchmark only.

Dense formulas in float64 with Python loops where that reads more plainly; no chunking, no
streaming, no tricks. Each mirrors one op of this package.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor


def supervised_contrast_reference(anchors: Tensor, anchor_labels: Tensor, keys: Optional[Tensor],
                                  key_labels: Optional[Tensor], temperature: float,
                                  base_temperature: Optional[float] = None,
                                  denominator: str = 'contrastiveseg', ignore_index: int = 255,
                                  self_contrast: bool = False) -> Tensor:
    """The loss of ``supervised_contrast`` from the ``[A, M]`` matrices, float64, 0-d."""
    if self_contrast:
        keys = anchors if keys is None else keys
        key_labels = anchor_labels if key_labels is None else key_labels
    scale = temperature / (temperature if base_temperature is None else base_temperature)
    sim = anchors.double() @ keys.double().T / temperature
    same = anchor_labels[:, None] == key_labels[None, :]
    key_valid = (key_labels != ignore_index)[None, :].expand_as(same)
    not_self = torch.ones_like(same)
    if self_contrast:
        not_self &= ~torch.eye(len(anchors), dtype=torch.bool, device=anchors.device)
    positives = same & key_valid & not_self
    negatives = ~same & key_valid
    losses = []
    for i in range(len(anchors)):
        if anchor_labels[i] == ignore_index or not positives[i].any():
            continue
        pos = sim[i][positives[i]]
        if denominator == 'contrastiveseg':
            neg_sum = torch.exp(sim[i][negatives[i]]).sum()
            log_prob = pos - torch.log(torch.exp(pos) + neg_sum)
        else:
            log_prob = pos - torch.logsumexp(sim[i][key_valid[i] & not_self[i]], 0)
        losses.append(-scale * log_prob.mean())
    if not losses:
        return sim.sum() * 0
    return torch.stack(losses).mean()


def class_ring_push_reference(bank: Tensor, ptr: Tensor, count: Tensor, feats: Tensor,
                              labels: Tensor, ignore_index: int = 255) -> None:
    """``class_ring_push`` one row at a time, in place."""
    size = bank.shape[1]
    for row, label in zip(feats, labels.tolist()):
        if label == ignore_index:
            continue
        bank[label, ptr[label]] = row
        ptr[label] = (ptr[label] + 1) % size
        count[label] = min(int(count[label]) + 1, size)


def region_means_reference(embeddings: Tensor, labels: Tensor, num_classes: int,
                           ignore_index: int = 255) -> tuple[Tensor, Tensor, Tensor]:
    """``region_means`` with a loop over images and classes (float64)."""
    means, region_labels, images = [], [], []
    for b in range(embeddings.shape[0]):
        for c in range(num_classes):
            mask = labels[b] == c
            if c == ignore_index or not mask.any():
                continue
            means.append(embeddings[b][:, mask].double().mean(1))
            region_labels.append(c)
            images.append(b)
    dim = embeddings.shape[1]
    stacked = torch.stack(means) if means else embeddings.new_zeros((0, dim), dtype=torch.float64)
    return (F.normalize(stacked, dim=1), torch.tensor(region_labels, dtype=torch.int64),
            torch.tensor(images, dtype=torch.int64))
