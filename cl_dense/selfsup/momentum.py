"""Momentum (EMA) key encoders, on mmengine's ``ExponentialMovingAverage``."""
from __future__ import annotations

from mmengine.model import ExponentialMovingAverage
from torch import nn


def momentum_encoder(query: nn.Module, momentum: float) -> ExponentialMovingAverage:
    """A key encoder ``k <- momentum * k + (1 - momentum) * q`` (MoCo's convention, 0.999).

    mmengine's ``momentum`` is the weight of the *new* parameters, so it gets ``1 - momentum``.
    The copy never requires grad; its buffers (BN statistics) follow the query encoder's at each
    update (``update_buffers=False``); its ``steps`` counter is a checkpointed buffer.
    """
    if not 0.0 < momentum < 1.0:
        raise ValueError(f'momentum must be in (0, 1), got {momentum}')
    return ExponentialMovingAverage(query, momentum=1.0 - momentum)


def copy_into_key_encoder(key: ExponentialMovingAverage, query: nn.Module) -> None:
    """Make the key encoder an exact copy of the query encoder (parameters and buffers)."""
    key.module.load_state_dict(query.state_dict())
