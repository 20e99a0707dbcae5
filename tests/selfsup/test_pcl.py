"""PCL: k-means centroids are a Lloyd fixpoint of the bank (means of their points, points on
their nearest centroid), the concentration follows its formula, ProtoNCE equals hand-written
logits + cross-entropy, and the model's prototypes are the k-means of its feature bank."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import MODELS

from cl_dense.memory.kmeans import spherical_kmeans
from cl_dense.selfsup.pcl import concentration, proto_nce
from tests.selfsup.tiny import TINY_BACKBONE, multiview_batch


def _blobs(per=10, dim=8, centres=4, spread=0.15, seed=0):
    gen = torch.Generator().manual_seed(seed)
    mu = F.normalize(torch.randn(centres, dim, generator=gen), dim=1)
    pts = mu.repeat_interleave(per, 0) + spread * torch.randn(centres * per, dim, generator=gen)
    return F.normalize(pts, dim=1)


def _slow_lloyd_check(feats, centroids, assignment):
    for i, row in enumerate(feats):  # each point sits on its most similar centroid
        sims = [float(torch.dot(row, c)) for c in centroids]
        assert assignment[i] == max(range(len(sims)), key=sims.__getitem__)
    for j, c in enumerate(centroids):  # each centroid is the normalised mean of its points
        members = [feats[i] for i in range(len(feats)) if assignment[i] == j]
        assert members, f'cluster {j} is empty'
        mean = sum(members) / len(members)
        torch.testing.assert_close(c, mean / mean.norm(), rtol=1e-5, atol=1e-6)


def test_kmeans_centroids_are_a_lloyd_fixpoint_and_seeded():
    feats = _blobs()
    centroids, assignment = spherical_kmeans(feats, 4, iters=30, seed=3)
    _slow_lloyd_check(feats, centroids, assignment)
    assert len(set(assignment.tolist())) == 4
    again = spherical_kmeans(feats, 4, iters=30, seed=3)
    assert torch.equal(again[0], centroids) and torch.equal(again[1], assignment)
    # unnormalised input is clustered on the sphere
    scaled = spherical_kmeans(feats * (torch.rand(len(feats), 1) * 5 + 0.1), 4, iters=30, seed=3)
    torch.testing.assert_close(scaled[0], centroids)


def test_kmeans_bad_arguments_are_named():
    feats = _blobs(per=2, centres=2)
    with pytest.raises(ValueError, match='num_clusters'):
        spherical_kmeans(feats, 5)
    with pytest.raises(ValueError, match=r'float \[N, D\]'):
        spherical_kmeans(feats[0], 1)
    with pytest.raises(ValueError, match='non-finite'):
        spherical_kmeans(torch.full((3, 2), float('nan')), 1)


def test_concentration_by_its_formula_with_singletons_clamping_and_mean():
    gen = torch.Generator().manual_seed(0)
    feats = F.normalize(torch.randn(14, 5, generator=gen), dim=1)
    centroids = F.normalize(torch.randn(5, 5, generator=gen), dim=1)
    assignment = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2, 2, 3, 0, 1, 2])  # cluster 4 empty
    got = concentration(feats, centroids, assignment, alpha=10.0, temperature=0.3)
    raw = []
    for j in range(5):
        idx = [i for i in range(14) if assignment[i] == j]
        if len(idx) > 1:
            total = sum(float((feats[i] - centroids[j]).norm()) for i in idx)
            raw.append(total / (len(idx) * math.log(len(idx) + 10.0)))
        else:
            raw.append(None)
    largest = max(v for v in raw if v is not None)
    raw = np.array([largest if v is None else v for v in raw])
    raw = np.clip(raw, np.percentile(raw, 10), np.percentile(raw, 90))
    want = 0.3 * raw / raw.mean()
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5)
    assert float(got.mean()) == pytest.approx(0.3)


def test_proto_nce_equals_hand_written_logits_and_cross_entropy():
    gen = torch.Generator().manual_seed(0)
    q = F.normalize(torch.randn(4, 6, generator=gen), dim=1).requires_grad_()
    k = F.normalize(torch.randn(4, 6, generator=gen), dim=1)
    protos = [F.normalize(torch.randn(n, 6, generator=gen), dim=1) for n in (3, 5)]
    phis = [torch.rand(n, generator=gen) + 0.1 for n in (3, 5)]
    loss = proto_nce(q, k, protos, phis)
    total = 0.0
    for c, phi in zip(protos, phis):
        for i in range(4):
            target = max(range(len(c)), key=lambda j: float(torch.dot(k[i], c[j])))
            logits = [float(torch.dot(q[i].detach(), c[j]) / phi[j]) for j in range(len(c))]
            total += -(logits[target] - math.log(sum(math.exp(v) for v in logits))) / 4
    assert float(loss.detach()) == pytest.approx(total / 2, rel=1e-5)
    loss.backward()
    assert q.grad.abs().sum() > 0


def tiny_pcl(**overrides):
    cfg = dict(type='PCL', backbone=TINY_BACKBONE, head=dict(hidden_dim=32, out_dim=16),
               queue_size=16, momentum=0.99, num_clusters=(2, 6), bank_size=10, kmeans_iters=5)
    cfg.update(overrides)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def test_warm_up_then_prototypes_are_the_kmeans_of_the_bank_and_the_loss_uses_them():
    torch.manual_seed(0)
    model = tiny_pcl()
    data = [model.data_preprocessor(multiview_batch(batch=4, seed=s), True)['inputs']
            for s in range(3)]
    losses = model(data[0], mode='loss')
    assert float(losses['loss_proto'].detach()) == 0 and losses['loss_proto'].requires_grad
    assert float(losses['proto_active']) == 0 and 'loss_g2g_res5' in losses
    assert int(model.feature_bank.count) == 4 and not model.update_prototypes()  # 4 keys < K=6
    assert int(model.proto_updates) == 0
    model(data[1], mode='loss')
    assert int(model.feature_bank.count) == 8
    assert model.update_prototypes()
    bank = model.feature_bank.feats[0, :8]
    for m, k in enumerate((2, 6)):
        want, assignment = spherical_kmeans(bank, k, iters=5, seed=m)
        torch.testing.assert_close(getattr(model, f'prototypes_{m}'), want)
        torch.testing.assert_close(getattr(model, f'concentration_{m}'),
                                   concentration(bank, want, assignment, 10.0, 0.2))
    losses = model(data[2], mode='loss')
    views = data[2]['global']
    with torch.no_grad():
        q = model.query_encoder.global_embed(views[:, 0])[0]
        k = model.key_encoder.module.global_embed(views[:, 1])[0]
    want = proto_nce(q, k, *model.prototypes())
    assert float(losses['loss_proto'].detach()) == pytest.approx(float(want), rel=1e-5)
    assert float(losses['proto_active']) == 1
    # the prototypes are checkpointed: a fresh model restores them and stays active
    fresh = tiny_pcl()
    fresh.load_state_dict(model.state_dict(), strict=True)
    assert int(fresh.proto_updates) == 1
    assert torch.equal(fresh.prototypes_1, model.prototypes_1)


def test_pcl_refuses_detco_branches():
    with pytest.raises(ValueError, match='one level and local=False'):
        tiny_pcl(levels=(2, 3), level_weights=(1.0, 1.0))
    with pytest.raises(ValueError, match='num_clusters'):
        tiny_pcl(num_clusters=())
