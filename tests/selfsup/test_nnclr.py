"""NNCLR: the nearest neighbour is the true one (brute force), the loss is the hand-written
formula, the support set is filled with view 1's projections after the loss, oldest first."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import MODELS

from cl_dense.selfsup.nnclr import nearest_neighbours
from tests.conftest import PROJECT_ROOT
from tests.selfsup.tiny import TINY_BACKBONE, multiview_batch
from tests.selfsup.zoo_config import run_one_iteration_and_export, tiny_pool_config


def tiny_nnclr(**overrides):
    cfg = dict(type='NNCLR', backbone=TINY_BACKBONE, projector=dict(hidden_dim=32, out_dim=16),
               predictor_hidden_dim=32, support_size=12, nn_chunk_size=5)
    cfg.update(overrides)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def _brute_force_nn(query, support):
    out = []
    for q in query:
        best, arg = -math.inf, -1
        for j, s in enumerate(support):
            sim = float(torch.dot(q, s))
            if sim > best:
                best, arg = sim, j
        out.append(arg)
    return torch.tensor(out)


def test_nearest_neighbour_matches_a_brute_force_loop():
    gen = torch.Generator().manual_seed(0)
    query = F.normalize(torch.randn(9, 8, generator=gen), dim=1)
    support = F.normalize(torch.randn(23, 8, generator=gen), dim=1)
    want = _brute_force_nn(query, support)
    for chunk in (1, 4, 7, 100):
        assert torch.equal(nearest_neighbours(query, support, chunk), want)
    with pytest.raises(ValueError, match='non-empty support'):
        nearest_neighbours(query, support[:0])


def _views(model, data):
    inputs = model.data_preprocessor(data, True)['inputs']
    views = inputs['global']
    with torch.no_grad():
        z = model.query_encoder.global_embed(views.flatten(0, 1))[0].view(views.shape[0], 2, -1)
        p = model.predictor(z.flatten(0, 1)).view(views.shape[0], 2, -1)
    return inputs, z, p


def _hand_loss(anchors, preds, t=0.1):
    total = 0.0
    for i in range(anchors.shape[0]):
        logits = [float(torch.dot(anchors[i], preds[j])) / t for j in range(preds.shape[0])]
        total += -(logits[i] - math.log(sum(math.exp(v) for v in logits)))
    return total / anchors.shape[0]


def test_loss_is_the_symmetrised_formula_with_true_neighbours_then_support_is_filled():
    torch.manual_seed(0)
    model = tiny_nnclr()
    gen = torch.Generator().manual_seed(1)
    stored = F.normalize(torch.randn(7, 16, generator=gen), dim=1)
    model.support.push(stored, torch.zeros(7, dtype=torch.long))
    inputs, z, p = _views(model, multiview_batch(batch=4))
    losses = model(inputs, mode='loss')
    nn1 = stored[_brute_force_nn(z[:, 0], stored)]
    nn2 = stored[_brute_force_nn(z[:, 1], stored)]
    want = 0.5 * (_hand_loss(nn1, p[:, 1]) + _hand_loss(nn2, p[:, 0]))
    assert float(losses['loss_nnclr'].detach()) == pytest.approx(want, rel=1e-5)
    # after the loss: view 1's projections appended after the 7 stored ones (slots 7..10)
    assert int(model.support.count) == 11 and float(losses['support_fill']) == pytest.approx(11 / 12)
    torch.testing.assert_close(model.support.feats[0, 7:11], z[:, 0])
    torch.testing.assert_close(model.support.feats[0, :7], stored)


def test_first_step_uses_the_projection_itself_and_gradient_reaches_predictor_and_backbone():
    torch.manual_seed(0)
    model = tiny_nnclr()
    inputs, z, p = _views(model, multiview_batch(batch=3))
    loss = model(inputs, mode='loss')['loss_nnclr']
    want = 0.5 * (_hand_loss(z[:, 0], p[:, 1]) + _hand_loss(z[:, 1], p[:, 0]))
    assert float(loss.detach()) == pytest.approx(want, rel=1e-5)
    loss.backward()
    for module in (model.predictor, model.query_encoder.backbone, model.query_encoder.global_heads):
        assert any(prm.grad is not None and prm.grad.abs().sum() > 0
                   for prm in module.parameters())


def test_support_wraps_oldest_first_and_bad_inputs_are_named():
    torch.manual_seed(0)
    model = tiny_nnclr(support_size=5)
    for seed in range(2):  # 2 steps x 3 = 6 > 5: the oldest slot is overwritten
        inputs, z, _ = _views(model, multiview_batch(batch=3, seed=seed))
        model(inputs, mode='loss')
    assert int(model.support.count) == 5 and int(model.support.ptr) == 1
    torch.testing.assert_close(model.support.feats[0, 0], z[2, 0])
    torch.testing.assert_close(model.support.feats[0, 3:5], z[:2, 0])
    with pytest.raises(ValueError, match=r'inputs\["global"\] \[B, 2'):
        model({'global': torch.zeros(2, 3, 3, 32, 32)}, mode='loss')
    with pytest.raises(ValueError, match='mode'):
        model(torch.zeros(1, 3, 32, 32), mode='predict')
    assert model(torch.zeros(2, 3, 32, 32))[0].shape[:2] == (2, 64)


def test_pool_config_runs_one_iteration_and_its_export_loads_into_the_transfer_backbone(tmp_path):
    cfg = tiny_pool_config(PROJECT_ROOT / 'configs/selfsup_zoo/'
                           'nnclr_resnet18-narrow_1xb16-1000it_shared-pool.py', tmp_path,
                           support_size=8)
    runner = run_one_iteration_and_export(cfg, tmp_path)
    assert int(runner.model.support.count) == 2
