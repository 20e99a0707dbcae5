"""PCL (Li et al., ICLR 2021): MoCo v2 (DetCo's global-only ablation) plus ProtoNCE against the
centroids of several spherical k-means clusterings of a bank of momentum-encoder features."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.distributed as dist
from mmengine.registry import MODELS
from torch import Tensor

from ..memory import ClassMemoryBank
from ..ops import supervised_contrast
from ..memory.distributed import distributed_world_size
from ..memory.kmeans import spherical_kmeans
from .detco import DetCo
from .queues import filled_keys


@torch.no_grad()
def concentration(feats: Tensor, centroids: Tensor, assignment: Tensor, alpha: float = 10.0,
                  temperature: float = 0.2) -> Tensor:
    """PCL's cluster concentration ``phi [K]`` of ``feats [N, D]`` around ``centroids [K, D]``
    (``assignment [N]`` = each row's cluster), as the paper defines it::

        phi_c = sum_{z in c} ||v_z - c|| / (Z_c log(Z_c + alpha))

    Clusters with fewer than two members get the largest ``phi`` of the others; then ``phi`` is
    clamped to its 10th..90th percentiles and scaled to mean ``temperature``.
    """
    num = centroids.shape[0]
    dist_sum = torch.zeros(num, dtype=feats.dtype, device=feats.device).index_add_(
        0, assignment, (feats - centroids[assignment]).norm(dim=1))
    count = torch.bincount(assignment, minlength=num).to(feats.dtype)
    valid = count > 1
    phi = dist_sum / (count * torch.log(count + alpha))
    fill = phi[valid].max() if valid.any() else feats.new_tensor(temperature)
    phi = torch.where(valid, phi, fill)
    phi = phi.clamp(torch.quantile(phi, 0.1), torch.quantile(phi, 0.9))
    return temperature * phi / phi.mean()


def proto_nce(query: Tensor, key: Tensor, prototypes: Sequence[Tensor],
              phis: Sequence[Tensor]) -> Tensor:
    """ProtoNCE term averaged over the ``M`` clusterings: per clustering, cross-entropy of the
    logits ``query . c_j / phi_j`` (``query [N, D]``, prototypes ``[K_m, D]``, ``phi [K_m]``)
    with target the prototype nearest (cosine) to the sample's momentum key ``key [N, D]``.
    Returns a 0-d float32 loss."""
    terms = []
    for centroids, phi in zip(prototypes, phis):
        target = (key.detach().float() @ centroids.T).argmax(dim=1)
        # cross-entropy over the prototypes on the streaming op: prototype j scaled by 1 / phi_j
        # is key j of its own label, temperature 1 (one positive per query: the softmax CE)
        scaled = (centroids / phi[:, None]).to(torch.float32)
        labels = torch.arange(centroids.shape[0], device=centroids.device)
        terms.append(supervised_contrast(query.float(), target, scaled, labels, 1.0, 1.0,
                                         denominator='contrastiveseg', ignore_index=-1))
    return torch.stack(terms).mean()


@MODELS.register_module()
class PCL(DetCo):
    """PCL pretraining: MoCo v2 (:class:`DetCo` with one level, no jigsaw branch) plus::

        loss_proto = proto_weight * 1/M sum_m CE( q . c^m / phi^m , nearest c^m of k )

    for ``M = len(num_clusters)`` clusterings, ``q`` view 1's query, ``k`` view 2's momentum key.
    The prototypes ``c^m`` and concentrations ``phi^m`` are buffers (checkpointed), estimated
    by :meth:`update_prototypes` (called by ``PrototypeUpdateHook``) from ``feature_bank``, a
    ``ClassMemoryBank(num_classes=1)`` of the last ``bank_size`` keys (all ranks). Until the
    first estimate (``proto_ready == 0``) the term is zero (with a gradient path): the warm-up.

    Args:
        backbone, head, queue_size, momentum, temperature, shuffle_bn, ...: as for ``DetCo``;
            ``temperature`` is also the mean of the normalised concentrations (0.2).
        levels, level_weights, local: must stay one level, no local branch (MoCo v2).
        num_clusters: ``K_m`` per clustering.
        bank_size: keys in the feature bank (>= the dataset: a bank of the whole pool).
        kmeans_iters: Lloyd iterations per k-means.
        alpha: the concentration's smoothing ``alpha`` (10).
        proto_weight: factor on ``loss_proto``.
        seed: k-means seed (plus the update count and the clustering index).
    """

    def __init__(self, backbone: dict, num_clusters: Sequence[int] = (25000, 50000, 100000),
                 bank_size: int = 1281167, kmeans_iters: int = 20, alpha: float = 10.0,
                 proto_weight: float = 1.0, seed: int = 0, levels: Sequence[int] = (3,),
                 level_weights: Sequence[float] = (1.0,), local: bool = False, **moco) -> None:
        if local or len(tuple(levels)) != 1:
            raise ValueError(f'PCL is built on MoCo v2: one level and local=False, got '
                             f'levels={levels!r}, local={local}')
        super().__init__(backbone, levels=levels, level_weights=level_weights, local=False,
                         **moco)
        self.num_clusters = tuple(int(k) for k in num_clusters)
        if not self.num_clusters or min(self.num_clusters) < 1:
            raise ValueError(f'num_clusters must be positive, got {num_clusters!r}')
        dim = self.query_encoder.out_dim
        self.feature_bank = ClassMemoryBank(1, bank_size, dim)
        for m, k in enumerate(self.num_clusters):
            self.register_buffer(f'prototypes_{m}', torch.zeros(k, dim))
            self.register_buffer(f'concentration_{m}', torch.ones(k))
        self.register_buffer('proto_updates', torch.zeros((), dtype=torch.long))
        self.kmeans_iters, self.alpha = kmeans_iters, alpha
        self.proto_weight, self.seed = proto_weight, seed
        self.proto_temperature = self.loss_fn.temperature
        self._embeds: dict[int, Tensor] = {}

    def prototypes(self) -> tuple[list[Tensor], list[Tensor]]:
        """``([c^m [K_m, D]], [phi^m [K_m]])`` for the ``M`` clusterings."""
        count = range(len(self.num_clusters))
        return ([getattr(self, f'prototypes_{m}') for m in count],
                [getattr(self, f'concentration_{m}') for m in count])

    @torch.no_grad()
    def update_prototypes(self) -> bool:
        """Re-estimate every clustering from the feature bank (k-means seeded by ``seed``, the
        update count and ``m``; computed on every rank from the identical bank, then rank 0's
        result broadcast). Returns False (nothing changed) while the bank holds fewer keys than
        the largest ``K``."""
        feats = filled_keys(self.feature_bank).float()
        if feats.shape[0] < max(self.num_clusters):
            return False
        for m, (centroids, phi) in enumerate(zip(*self.prototypes())):
            seed = self.seed + 1000 * int(self.proto_updates) + m
            new, assignment = spherical_kmeans(feats, centroids.shape[0], self.kmeans_iters, seed)
            centroids.copy_(new)
            phi.copy_(concentration(feats, new, assignment, self.alpha, self.proto_temperature))
            if distributed_world_size() > 1:
                dist.broadcast(centroids, 0)
                dist.broadcast(phi, 0)
        self.proto_updates += 1
        return True

    def embed(self, inputs: dict, view: int, encoder, shuffle: bool):
        """``DetCo.embed``, recording view ``view``'s global embedding for ProtoNCE."""
        global_embeds, local_embeds = super().embed(inputs, view, encoder, shuffle)
        self._embeds[view] = global_embeds[0]
        return global_embeds, local_embeds

    def loss(self, inputs: dict) -> dict[str, Tensor]:
        """MoCo v2's loss, ProtoNCE once the prototypes exist, then the keys into the bank."""
        self._embeds = {}
        losses = super().loss(inputs)
        query, key = self._embeds.pop(0), self._embeds.pop(1)
        if int(self.proto_updates):
            losses['loss_proto'] = self.proto_weight * proto_nce(query, key, *self.prototypes())
        else:
            losses['loss_proto'] = query.sum() * 0.0
        self.feature_bank.push(key, torch.zeros(key.shape[0], dtype=torch.long,
                                                device=key.device))
        losses['proto_active'] = (self.proto_updates > 0).float()
        losses['bank_fill'] = self.feature_bank.count.float().squeeze(0) / self.feature_bank.size
        return losses
