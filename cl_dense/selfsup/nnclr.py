"""NNCLR (Dwibedi et al., ICCV 2021): contrast each view's nearest neighbour in a support set of
past projections against the other view's predictions (in-batch InfoNCE), no momentum encoder."""
from __future__ import annotations

from typing import Optional

import torch
from mmengine.registry import MODELS
from torch import Tensor

from ..losses import InfoNCELoss
from ..memory import ClassMemoryBank
from .base import PretrainingModel
from .encoder import MultiLevelEncoder
from .heads import MLPHead
from .queues import filled_keys


@torch.no_grad()
def nearest_neighbours(query: Tensor, support: Tensor, chunk_size: int = 4096) -> Tensor:
    """Index ``[N]`` of the most cosine-similar row of ``support [M, D]`` (M >= 1) for each row of
    ``query [N, D]`` (both L2-normalised, so the dot product is the cosine). The support set is
    scanned in chunks of ``chunk_size`` rows (no ``[N, M]`` matrix); ties go to the lowest index.
    """
    if support.shape[0] == 0:
        raise ValueError('nearest_neighbours needs a non-empty support set')
    best = query.new_full((query.shape[0],), float('-inf'))
    index = torch.zeros(query.shape[0], dtype=torch.long, device=query.device)
    for start in range(0, support.shape[0], chunk_size):
        sims = query @ support[start:start + chunk_size].to(query.dtype).T
        value, arg = sims.max(dim=1)
        better = value > best
        best = torch.where(better, value, best)
        index = torch.where(better, arg + start, index)
    return index


@MODELS.register_module()
class NNCLR(PretrainingModel):
    """NNCLR pretraining model.

    With projections ``z_v`` (backbone level ``level``, global average pool, projector MLP,
    L2-normalised) and predictions ``p_v = predictor(z_v)`` (L2-normalised) of views ``v = 1, 2``,
    ``NN(z)`` the nearest (cosine) entry of the support set ``S`` and ``s = 1, ..., B`` the batch::

        loss_nnclr = 1/2 [ InfoNCE(NN(z_1), keys = p_2, positives = arange(B))
                         + InfoNCE(NN(z_2), keys = p_1, positives = arange(B)) ]

    (:func:`cl_dense.losses.info_nce`, temperature 0.1): sample i's positive is the other view's
    prediction of sample i, the negatives the other samples' predictions of this rank's batch.
    ``NN(z)`` is a support entry, so the gradient flows through the predictions ``p`` only (as in
    the paper). After the loss, view 1's ``z_1`` (all ranks, rank order) is enqueued into ``S``
    (a ``ClassMemoryBank(num_classes=1)``, oldest overwritten first).

    Our choice: while ``S`` is empty (the very first step), ``NN(z) = z`` (detached), i.e. the
    step is SimCLR-like with a predictor; after that only filled slots are searched.

    Args:
        backbone: backbone config (``out_indices`` covering ``level``).
        level: backbone output index that gets the projector (3 = res5 of a ResNet).
        projector: ``MLPHead`` arguments (``hidden_dim=2048``, ``out_dim=256``, ``num_layers=2``).
        predictor_hidden_dim: width of the 2-layer predictor MLP (4096 in the paper).
        support_size: support-set entries (98,304 in the paper).
        temperature: InfoNCE temperature (0.1).
        in_channels, feat_channels: as for ``MultiLevelEncoder``.
        nn_chunk_size: support entries scanned per step of the nearest-neighbour search.

    Inputs (``forward(inputs, mode='loss')``): ``inputs['global'] [B, 2, C, H, W]`` from
    ``MultiViewDataPreprocessor``. ``mode='tensor'`` returns the backbone's feature at ``level``
    (a 1-tuple) for ``inputs`` ``[B, C, H, W]`` or the dict's first view.
    """

    def __init__(self, backbone: dict, level: int = 3, projector: Optional[dict] = None,
                 predictor_hidden_dim: int = 4096, support_size: int = 98304,
                 temperature: float = 0.1, in_channels: int = 3, feat_channels=None,
                 nn_chunk_size: int = 4096, data_preprocessor: Optional[dict] = None,
                 init_cfg=None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='MultiViewDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        projector = {**dict(hidden_dim=2048, out_dim=256, num_layers=2), **(projector or {})}
        self.query_encoder = MultiLevelEncoder(backbone, (level,), projector, 0, in_channels,
                                               feat_channels)
        dim = self.query_encoder.out_dim
        self.predictor = MLPHead(dim, predictor_hidden_dim, dim, num_layers=2)
        self.support = ClassMemoryBank(1, support_size, dim)
        self.loss_fn = InfoNCELoss(temperature)
        self.nn_chunk_size = nn_chunk_size

    def neighbours(self, z: Tensor) -> Tensor:
        """``NN(z)`` ``[N, D]`` (detached): nearest filled support entry, ``z`` itself while the
        support set is empty."""
        support = filled_keys(self.support)
        if support.shape[0] == 0:
            return z.detach()
        return support[nearest_neighbours(z.detach(), support, self.nn_chunk_size)].to(z.dtype)

    def loss(self, inputs: dict) -> dict[str, Tensor]:
        """The symmetrised NNCLR loss, then enqueue view 1's projections."""
        views = inputs.get('global') if isinstance(inputs, dict) else None
        if views is None or views.dim() != 5 or views.shape[1] != 2:
            raise ValueError('NNCLR needs inputs["global"] [B, 2, C, H, W] (MultiView with one '
                             'view group "global" of num=2)')
        batch = views.shape[0]
        z = self.query_encoder.global_embed(views.flatten(0, 1))[0].view(batch, 2, -1)
        p = self.predictor(z.flatten(0, 1)).view(batch, 2, -1)
        positives = torch.arange(batch, device=z.device)
        loss = 0.5 * (self.loss_fn(self.neighbours(z[:, 0]), p[:, 1], positives)
                      + self.loss_fn(self.neighbours(z[:, 1]), p[:, 0], positives))
        self.support.push(z[:, 0], torch.zeros(batch, dtype=torch.long, device=z.device))
        return {'loss_nnclr': loss,
                'support_fill': self.support.count.float().squeeze(0) / self.support.size}
