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



def test_swav_sinkhorn_is_a_scaled_plan_with_unit_rows_and_tends_to_equipartition():
    """``q = distributed_sinkhorn(s [B, K], n, 1, eps)`` (what SwAVLoss uses for the codes):
    (1) ``q = diag(a) exp(s / eps) diag(b)``: ``log q - s / eps`` is a sum of a row and a column
    term (its double-centred residual is zero), for any ``n``;
    (2) every row sums to 1 (each sample's code is a distribution over the K prototypes: the
    last step normalises the samples);
    (3) the prototype (column) sums approach the equipartition ``B / K`` monotonically in ``n``
    (exact in the limit); after SwAV's n = 3 they are already nearer to it than those of the
    row softmax ``softmax(s / eps)`` (which has (1) and (2) but no balancing)."""
    from mmpretrain.models.losses.swav_loss import distributed_sinkhorn

    batch, prototypes, eps = 32, 8, 0.05
    gen = torch.Generator().manual_seed(0)
    samples = torch.nn.functional.normalize(torch.randn(batch, 4, generator=gen,
                                                        dtype=torch.float64), dim=1)
    centres = torch.nn.functional.normalize(torch.randn(prototypes, 4, generator=gen,
                                                        dtype=torch.float64), dim=1)
    scores = samples @ centres.t()  # cosine scores, as SwAV's normalised prototypes give
    share = batch / prototypes

    def column_gap(q):
        return float((q.sum(0) - share).abs().max())

    gaps = []
    for iterations in (1, 2, 3, 10, 1000):
        q = distributed_sinkhorn(scores.clone(), iterations, 1, eps)
        assert q.shape == (batch, prototypes) and bool((q > 0).all())
        residual = q.log() - scores / eps
        residual = (residual - residual.mean(0, keepdim=True) - residual.mean(1, keepdim=True)
                    + residual.mean())
        assert float(residual.abs().max()) < 1e-9, iterations
        torch.testing.assert_close(q.sum(1), torch.ones(batch, dtype=torch.float64))
        gaps.append(column_gap(q))
    assert gaps == sorted(gaps, reverse=True) and len(set(gaps)) == len(gaps), gaps
    assert gaps[2] < column_gap(torch.softmax(scores / eps, dim=1)), gaps
    assert gaps[-1] < 1e-9, gaps
