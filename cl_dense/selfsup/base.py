"""The ``forward`` contract shared by the pretraining models of ``cl_dense.selfsup``."""
from __future__ import annotations

from typing import Union

from mmengine.model import BaseModel
from torch import Tensor


class PretrainingModel(BaseModel):
    """mmengine ``BaseModel`` whose ``forward`` dispatches ``mode='loss'`` to ``self.loss(inputs)``
    (a dict of losses from the packed views) and ``mode='tensor'`` to ``self.extract_feat``.

    ``mode='tensor'`` takes an image batch ``[B, C, H, W]``, or the packed inputs, whose first
    view of kind :attr:`view_key` (``inputs[view_key][:, 0]``) is used. Subclasses define
    ``loss`` and, unless they have a ``query_encoder`` with ``level_features``, ``extract_feat``.
    """

    view_key = 'global'

    def forward(self, inputs: Union[dict, Tensor], data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs)
        if mode == 'tensor':
            images = inputs[self.view_key][:, 0] if isinstance(inputs, dict) else inputs
            return self.extract_feat(images)
        raise ValueError(f'{type(self).__name__} supports mode "loss" and "tensor", got {mode!r}')

    def extract_feat(self, images: Tensor) -> tuple[Tensor, ...]:
        """The query encoder's backbone features of ``images [B, C, H, W]``, one per level."""
        return tuple(self.query_encoder.level_features(images))
