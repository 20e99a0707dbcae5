"""Projection head producing per-pixel contrastive embeddings (training only)."""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptMultiConfig
from torch import Tensor, nn


@MODELS.register_module()
class ContrastProjectionHead(BaseModule):
    """conv1x1 (C -> channels), norm, ReLU, conv1x1 (channels -> proj_dim), L2-normalised per pixel.

    The selected feature levels are resized (bilinear) to the size of the first selected level and
    concatenated, so the embedding stride is the stride of ``in_index[0]``.

    Args:
        in_channels: channels of the selected level(s); a sequence when ``in_index`` is one.
        in_index: which level(s) of the segmentor's ``extract_feat`` output (backbone, or neck when
            there is one) to project.
        proj_dim: embedding dimension D.
        channels: width of the hidden layer; ``None`` means ``sum(in_channels)`` (the paper's
            C -> C).
        norm_cfg: normalisation after the first conv (``dict(type='SyncBN')`` on multi-GPU runs;
            plain BN on the CPU).
        align_corners: passed to the bilinear resize of extra levels.
        init_cfg: mmengine initialisation config.

    Shapes:
        inputs: sequence of [N, C_l, H_l, W_l]; output: [N, proj_dim, H, W] with unit L2 norm over
        dim 1, (H, W) the size of level ``in_index[0]``.
    """

    def __init__(self, in_channels: Union[int, Sequence[int]], in_index: Union[int, Sequence[int]],
                 proj_dim: int = 256, channels: Optional[int] = None,
                 norm_cfg: ConfigType = dict(type='BN'), align_corners: bool = False,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_index: List[int] = [in_index] if isinstance(in_index, int) else list(in_index)
        in_list = [in_channels] if isinstance(in_channels, int) else list(in_channels)
        if len(in_list) != len(self.in_index) or not self.in_index:
            raise ValueError(f'in_channels {in_channels} and in_index {in_index} must name the '
                             'same non-zero number of levels')
        if proj_dim < 1:
            raise ValueError(f'proj_dim must be >= 1, got {proj_dim}')
        total = sum(in_list)
        self.in_channels = in_list
        self.proj_dim = proj_dim
        self.align_corners = align_corners
        hidden = total if channels is None else channels
        self.proj = nn.Sequential(
            ConvModule(total, hidden, 1, norm_cfg=norm_cfg, act_cfg=dict(type='ReLU')),
            nn.Conv2d(hidden, proj_dim, 1))

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Embed the selected levels: see the class docstring for shapes."""
        feats = [inputs[i] for i in self.in_index]
        for feat, channels in zip(feats, self.in_channels):
            if feat.shape[1] != channels:
                raise ValueError(f'a selected feature level has {feat.shape[1]} channels, '
                                 f'in_channels says {channels}')
        size = feats[0].shape[2:]
        feats = [feats[0]] + [
            F.interpolate(f, size=size, mode='bilinear', align_corners=self.align_corners)
            for f in feats[1:]]
        return F.normalize(self.proj(torch.cat(feats, dim=1)), p=2, dim=1)
