"""Projection heads of contrastive pretraining."""
from __future__ import annotations

import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn


class MLPHead(BaseModule):
    """``num_layers`` linear layers with ReLU between them (MoCo v2's head is 2 layers), optional
    L2 normalisation of the output.

    Args:
        in_dim: input features ``C``.
        hidden_dim: width of the hidden layers.
        out_dim: embedding dimension ``D``.
        num_layers: >= 1 (1 = a single linear layer).
        normalize: L2-normalise the output rows.

    Forward: ``[N, in_dim]`` -> ``[N, out_dim]``.
    """

    def __init__(self, in_dim: int, hidden_dim: int = 2048, out_dim: int = 128,
                 num_layers: int = 2, normalize: bool = True, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if min(in_dim, hidden_dim, out_dim, num_layers) < 1:
            raise ValueError(f'in_dim, hidden_dim, out_dim and num_layers must be >= 1, got '
                             f'{in_dim}, {hidden_dim}, {out_dim}, {num_layers}')
        dims = [in_dim] + [hidden_dim] * (num_layers - 1) + [out_dim]
        layers = []
        for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
            if i:
                layers.append(nn.ReLU(inplace=True))
            layers.append(nn.Linear(a, b))
        self.mlp = nn.Sequential(*layers)
        self.normalize = normalize

    def forward(self, x: Tensor) -> Tensor:
        out = self.mlp(x)
        return F.normalize(out, dim=1) if self.normalize else out
