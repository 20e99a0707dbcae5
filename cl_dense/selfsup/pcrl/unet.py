"""The online / momentum network of PCRL: an mmseg ``UNet`` whose encoder path embeds an image
(pooled deepest features -> MLP projector) and whose decoder path, conditioned on the
transformation code by channel attention, reconstructs the untransformed image."""
from __future__ import annotations

from typing import Optional, Sequence

import torch
from mmengine.model import BaseModule
from mmengine.registry import MODELS
from torch import Tensor, nn

from ..heads import MLPHead


def in_own_scope(cfg: dict) -> dict:
    """``cfg`` built in the scope its type names (``'mmseg.UNet'`` -> ``_scope_='mmseg'``), so
    that the layers the backbone builds by name (the UNet's ``InterpConv``) are found."""
    kind = cfg.get('type')
    if isinstance(kind, str) and '.' in kind:
        return dict(cfg, _scope_=cfg.get('_scope_', kind.split('.')[0]))
    return dict(cfg)


class CodeChannelAttention(nn.Module):
    """Gate ``x [B, C, h, w]`` per channel by ``sigmoid(MLP(code [B, K]))`` (``[B, C, 1, 1]``):
    the decoder learns which transformation it must undo."""

    def __init__(self, code_dim: int, channels: int, hidden_dim: int = 64) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(code_dim, hidden_dim), nn.ReLU(inplace=True),
                                 nn.Linear(hidden_dim, channels))

    def forward(self, x: Tensor, code: Tensor) -> Tensor:
        return x * torch.sigmoid(self.mlp(code))[:, :, None, None]


class PCRLUNet(BaseModule):
    """mmseg ``UNet`` (``self.backbone``: exported for fine-tuning) + projector + code attention
    + a 1x1 reconstruction conv.

    Args:
        backbone: the ``UNet`` config (root MODELS: ``type='mmseg.UNet'``).
        code_dim: length ``K`` of the transformation code.
        head: ``MLPHead`` arguments (``hidden_dim``, ``out_dim`` = 128, ``num_layers``).
        out_channels: channels of the reconstruction (the image channels, 3 by default).
    """

    def __init__(self, backbone: dict, code_dim: int, head: Optional[dict] = None,
                 out_channels: int = 3, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.backbone = MODELS.build(in_own_scope(backbone))
        if not hasattr(self.backbone, 'encoder') or not hasattr(self.backbone, 'decoder'):
            raise ValueError(f'PCRL needs a UNet-like backbone with encoder and decoder paths, '
                             f'got {type(self.backbone).__name__}')
        base, stages = self.backbone.base_channels, self.backbone.num_stages
        deep = base * 2 ** (stages - 1)
        head = dict(dict(hidden_dim=deep, out_dim=128), **(head or {}))
        self.projector = MLPHead(deep, **head)
        self.out_dim = int(head['out_dim'])
        self.condition = CodeChannelAttention(code_dim, deep)
        self.recon_head = nn.Conv2d(base, out_channels, kernel_size=1)

    def encode(self, images: Tensor) -> list[Tensor]:
        """Encoder features of ``images [B, C, H, W]``: one ``[B, base * 2**i, H_i, W_i]`` per
        stage, deepest last (the UNet's skip connections)."""
        self.backbone._check_input_divisible(images)
        feats, x = [], images
        for stage in self.backbone.encoder:
            x = stage(x)
            feats.append(x)
        return feats

    def embed(self, feats: Sequence[Tensor]) -> Tensor:
        """``[B, D]`` L2-normalised embedding of the globally pooled deepest features."""
        return self.projector(feats[-1].mean(dim=(2, 3)))

    def decode(self, feats: Sequence[Tensor], code: Tensor) -> Tensor:
        """Reconstruction ``[B, out_channels, H, W]`` from the encoder features, the deepest
        gated by the transformation code ``[B, K]``."""
        x = self.condition(feats[-1], code)
        for i in reversed(range(len(self.backbone.decoder))):
            x = self.backbone.decoder[i](feats[i], x)
        return self.recon_head(x)

    def embed_images(self, images: Tensor) -> list[Tensor]:
        """``[embed(encode(images))]`` (a list, for :func:`batch_shuffled`)."""
        return [self.embed(self.encode(images))]
