"""``MultiLevelEncoder``: a backbone with a global and (optionally) a local projection head on
each of several output levels, the encoder of DetCo (and, with one level and no local head, of
MoCo v2 / SimCLR)."""
from __future__ import annotations

from typing import Optional, Sequence

import torch
from mmengine.model import BaseModule
from mmengine.registry import MODELS
from torch import Tensor, nn

from .heads import MLPHead


def infer_channels(backbone: nn.Module, in_channels: int) -> list[int]:
    """Channels of each backbone output, from one forward of a ``[1, in_channels, 64, 64]`` zero
    image in eval mode (BN statistics untouched)."""
    was_training = backbone.training
    backbone.eval()
    with torch.no_grad():
        outs = backbone(torch.zeros(1, in_channels, 64, 64))
    backbone.train(was_training)
    return [int(out.shape[1]) for out in outs]


def unshuffle_patches(feats: Tensor, perm: Tensor) -> Tensor:
    """Put per-patch features back in cell order: ``feats [N, P, C]`` with ``feats[n, i]`` from
    cell ``perm[n, i]`` -> ``[N, P, C]`` with row ``j`` from cell ``j``."""
    inverse = perm.argsort(dim=1)
    return feats.gather(1, inverse.unsqueeze(-1).expand_as(feats))


LOCAL_ORDERS = ('shuffled', 'cell')


class MultiLevelEncoder(BaseModule):
    """Backbone + per-level global head (global average pool, MLP) and local head (the ``P``
    jigsaw patches of a sample pooled one by one, concatenated, MLP).

    The local head's concatenation order (``local_order``):

    - ``'shuffled'`` (default; DetCo and PIRL): the patches' own, shuffled order. The query's and
      the key's jigsaws carry independent permutations, so to match them the local head has to
      map every arrangement of the same cells to one code: the shuffle is part of the pretext.
    - ``'cell'``: un-shuffled to cell order first (``perm`` used), so the permutation has no
      effect at all and the branch is "``P`` fixed-position crops, concatenated".

    Args:
        backbone: config of a backbone returning a tuple of feature maps, built from mmengine's
            root MODELS (``type='mmseg.ResNetV1c'``, ``'mmdet.ResNet'``, ...).
        levels: indices into the backbone's outputs that get heads (e.g. ``(0, 1, 2, 3)`` for
            res2..res5 with ``out_indices=(0, 1, 2, 3)``).
        head: ``MLPHead`` arguments besides ``in_dim`` (``hidden_dim``, ``out_dim``, ``num_layers``).
        num_patches: ``P`` patches per local view (9 for a 3x3 jigsaw); 0 = no local heads.
        in_channels: image channels (for inferring the feature widths).
        feat_channels: widths of the backbone outputs; ``None`` infers them.
        local_order: ``'shuffled'`` or ``'cell'`` (above).
    """

    def __init__(self, backbone: dict, levels: Sequence[int] = (0, 1, 2, 3),
                 head: Optional[dict] = None, num_patches: int = 9, in_channels: int = 3,
                 feat_channels: Optional[Sequence[int]] = None, local_order: str = 'shuffled',
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if local_order not in LOCAL_ORDERS:
            raise ValueError(f'local_order must be one of {LOCAL_ORDERS}, got {local_order!r}')
        self.local_order = local_order
        self.backbone = MODELS.build(backbone)
        channels = list(feat_channels) if feat_channels else infer_channels(self.backbone,
                                                                             in_channels)
        self.levels = tuple(int(lvl) for lvl in levels)
        if not self.levels or len(set(self.levels)) != len(self.levels) or not all(
                0 <= lvl < len(channels) for lvl in self.levels):
            raise ValueError(f'levels must be distinct indices into the {len(channels)} backbone '
                             f'outputs, got {levels!r}')
        if num_patches < 0:
            raise ValueError(f'num_patches must be >= 0, got {num_patches}')
        head = {**dict(hidden_dim=2048, out_dim=128, num_layers=2), **(head or {})}
        self.num_patches = num_patches
        self.global_heads = nn.ModuleList(MLPHead(channels[lvl], **head) for lvl in self.levels)
        self.local_heads = nn.ModuleList(
            MLPHead(num_patches * channels[lvl], **head) for lvl in self.levels
        ) if num_patches else None
        self.out_dim = head['out_dim']

    def level_features(self, images: Tensor) -> list[Tensor]:
        """The backbone's ``[N, C_l, h_l, w_l]`` maps at ``levels`` for ``images [N, C, H, W]``."""
        outs = self.backbone(images)
        return [outs[lvl] for lvl in self.levels]

    def global_embed(self, images: Tensor) -> list[Tensor]:
        """``images [N, C, H, W]`` -> per level ``[N, D]`` L2-normalised embeddings."""
        feats = self.level_features(images)
        return [head(f.mean(dim=(2, 3))) for head, f in zip(self.global_heads, feats)]

    def local_embed(self, patches: Tensor, perm: Tensor) -> list[Tensor]:
        """``patches [N, P, C, h, w]`` (shuffled; ``patches[n, i]`` is cell ``perm[n, i]``) ->
        per level ``[N, D]``: the ``[N, P, C_l]`` pooled patch features concatenated in the
        patches' order (``local_order='shuffled'``) or in cell order (``'cell'``) to ``[N, P C_l]``,
        then the level's MLP. All ``N * P`` patches go through the backbone in one forward."""
        if self.local_heads is None:
            raise RuntimeError('this encoder has no local heads (num_patches=0)')
        num, count = patches.shape[:2]
        if count != self.num_patches or perm.shape != (num, count):
            raise ValueError(f'expected patches [N, {self.num_patches}, C, h, w] and perm '
                             f'[N, {self.num_patches}], got {tuple(patches.shape)} and '
                             f'{tuple(perm.shape)}')
        feats = self.level_features(patches.flatten(0, 1))
        embeds = []
        for head, f in zip(self.local_heads, feats):
            pooled = f.mean(dim=(2, 3)).view(num, count, -1)
            if self.local_order == 'cell':
                pooled = unshuffle_patches(pooled, perm)
            embeds.append(head(pooled.flatten(1)))
        return embeds
