"""Seeded spherical k-means (Lloyd iterations on the unit sphere), torch only."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


@torch.no_grad()
def spherical_kmeans(feats: Tensor, num_clusters: int, iters: int = 20,
                     seed: int = 0) -> tuple[Tensor, Tensor]:
    """Cluster the L2-normalised rows of ``feats [N, D]`` into ``num_clusters`` (``K <= N``).

    Initial centroids: ``K`` distinct rows drawn with a CPU generator seeded by ``seed`` (the
    same on every machine). Each of ``iters`` Lloyd steps assigns every row to its most
    cosine-similar centroid (ties: lowest index), then sets each centroid to the L2-normalised
    mean of its rows; a centroid left without rows keeps its position.

    Returns:
        ``(centroids [K, D], assignment [N])``: unit-norm centroids (``feats``' dtype) and each
        row's nearest final centroid.
    """
    if feats.dim() != 2 or not feats.is_floating_point():
        raise ValueError(f'feats must be a float [N, D] tensor, got {feats.dtype} '
                         f'{tuple(feats.shape)}')
    if not 1 <= num_clusters <= feats.shape[0]:
        raise ValueError(f'num_clusters must be in [1, N={feats.shape[0]}], got {num_clusters}')
    if iters < 0:
        raise ValueError(f'iters must be >= 0, got {iters}')
    if not torch.isfinite(feats).all():
        raise ValueError('feats contain non-finite values')
    feats = F.normalize(feats, dim=1)
    gen = torch.Generator().manual_seed(seed)
    first = torch.randperm(feats.shape[0], generator=gen)[:num_clusters].to(feats.device)
    centroids = feats[first].clone()
    for _ in range(iters):
        assignment = (feats @ centroids.T).argmax(dim=1)
        sums = torch.zeros_like(centroids).index_add_(0, assignment, feats)
        filled = torch.bincount(assignment, minlength=num_clusters) > 0
        centroids = torch.where(filled.unsqueeze(1), F.normalize(sums, dim=1), centroids)
    return centroids, (feats @ centroids.T).argmax(dim=1)
