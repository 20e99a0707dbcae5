"""``MultiViewDataPreprocessor``: stacks the views of a batch, moves them to the model's device
and normalises the images."""
from __future__ import annotations

from typing import Sequence

import torch
from mmengine.model import BaseDataPreprocessor
from mmengine.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class MultiViewDataPreprocessor(BaseDataPreprocessor):
    """``data['inputs']`` is a dict of per-sample tensors (as ``MultiView`` packs them and
    mmengine's ``pseudo_collate`` lists them): each key is stacked to ``[B, ...]``; ``uint8``
    images (channels at dim -3) become ``(x - mean) / std`` in float32, other tensors (jigsaw
    permutations) only move to the device.

    Args:
        mean, std: per-channel statistics on the 0..255 scale (ImageNet's by default; a
            1-channel pipeline needs 1-element ones).
    """

    def __init__(self, mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375), non_blocking: bool = False) -> None:
        super().__init__(non_blocking=non_blocking)
        if len(mean) != len(std) or min(std) <= 0:
            raise ValueError(f'mean and std need one positive std per channel, got {mean}, {std}')
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1),
                             persistent=False)
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(-1, 1, 1),
                             persistent=False)

    def normalize(self, images: Tensor) -> Tensor:
        """``uint8 [..., C, H, W]`` -> float32 ``(x - mean) / std``."""
        if images.dim() < 3 or images.shape[-3] != self.mean.shape[0]:
            raise ValueError(f'images must be [..., {self.mean.shape[0]}, H, W] to match mean/std, '
                             f'got {tuple(images.shape)}')
        return (images.float() - self.mean) / self.std

    def forward(self, data: dict, training: bool = False) -> dict:
        inputs = {}
        for key, value in data['inputs'].items():
            batch = torch.stack(list(value)) if isinstance(value, (list, tuple)) else value
            batch = self.cast_data(batch)
            inputs[key] = self.normalize(batch) if batch.dtype == torch.uint8 else batch
        return {'inputs': inputs, 'data_samples': None}
