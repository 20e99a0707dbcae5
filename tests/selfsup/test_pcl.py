"""PCL: k-means centroids are a Lloyd fixpoint of the bank (means of their points, points on
their nearest centroid), the concentration follows its formula, ProtoNCE equals hand-written
logits + cross-entropy, and the model's prototypes are the k-means of its feature bank."""
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import MODELS

from cl_dense.memory.kmeans import spherical_kmeans
from cl_dense.selfsup.pcl import concentration, proto_nce
from cl_dense.selfsup.pcl_hook import PrototypeUpdateHook
from tests.conftest import PROJECT_ROOT
from tests.engine.runner_utils import dist_train_two_ranks, train_tiny
from tests.selfsup.folder import make_image_folder
from tests.selfsup.tiny import TINY_BACKBONE, multiview_batch
from tests.selfsup.zoo_config import run_one_iteration_and_export, tiny_pool_config

_runs = iter(range(10 ** 6))


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
    # the gradient equals autograd's through dense logits + cross-entropy
    dense_q = q.detach().clone().requires_grad_()
    dense = torch.stack([F.cross_entropy(dense_q @ c.T / phi, (k @ c.T).argmax(1))
                         for c, phi in zip(protos, phis)]).mean()
    dense.backward()
    torch.testing.assert_close(q.grad, dense_q.grad, rtol=1e-5, atol=1e-6)


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


class _Model:
    def __init__(self):
        self.calls = 0

    def update_prototypes(self):
        self.calls += 1
        return True


class _Runner:
    def __init__(self, dataset_len, batch_size):
        self.model = _Model()
        self.train_dataloader = SimpleNamespace(dataset=[0] * dataset_len, batch_size=batch_size)
        self.iter = 0


def _fired(hook, runner, iters):
    hook.before_train(runner)
    fired = []
    for it in range(iters):
        runner.iter = it
        before = runner.model.calls
        hook.after_train_iter(runner, it)
        if runner.model.calls > before:
            fired.append(it + 1)
    return fired


def test_hook_fires_after_warm_up_then_every_interval_default_one_pass():
    # 50 samples / batch 8 = 6 iterations per pass; warm-up defaults to one interval
    assert _fired(PrototypeUpdateHook(), _Runner(50, 8), 20) == [6, 12, 18]
    assert _fired(PrototypeUpdateHook(interval=4, warmup_iters=5), _Runner(50, 8), 14) == [5, 9, 13]
    assert _fired(PrototypeUpdateHook(), _Runner(3, 8), 3) == [1, 2, 3]  # at least 1
    with pytest.raises(ValueError, match='interval must be a positive int'):
        PrototypeUpdateHook(interval=0)


def test_pool_config_runs_one_iteration_with_a_kmeans_and_exports(tmp_path):
    cfg = tiny_pool_config(PROJECT_ROOT / 'configs/selfsup_zoo/'
                           'pcl_resnet18-narrow_1xb16-1000it_shared-pool.py', tmp_path,
                           queue_size=4, bank_size=8, num_clusters=(2,))
    assert cfg.custom_hooks[0].type == 'PrototypeUpdateHook'
    cfg.custom_hooks[0].warmup_iters = 1
    runner = run_one_iteration_and_export(cfg, tmp_path)
    model = runner.model
    assert int(model.proto_updates) == 1 and int(model.feature_bank.count) == 2
    want, _ = spherical_kmeans(model.feature_bank.feats[0, :2], 2, iters=20, seed=0)
    torch.testing.assert_close(model.prototypes_0, want)


@pytest.mark.dist
def test_two_gloo_ranks_hold_identical_prototypes(tmp_path):
    make_image_folder(tmp_path / 'data', count=8)
    ranks, log = dist_train_two_ranks(
        PROJECT_ROOT / 'tests/selfsup/configs/tiny_pcl_folder-32_dump-ranks.py', tmp_path, [],
        loaders=('train_dataloader',))
    states = [rank['state_dict'] for rank in ranks]
    assert int(states[0]['proto_updates']) == 2  # after iterations 2 and 3
    assert int(states[0]['feature_bank.count']) == 12  # 3 iterations x 2 ranks x 2 keys
    for key in ('prototypes_0', 'prototypes_1', 'concentration_0', 'concentration_1',
                'feature_bank.feats'):
        assert states[0][key].abs().sum() > 0, key
        assert torch.equal(states[0][key], states[1][key]), key
    assert 'Distributed training: True' in log


def _tiny_run(work_dir, data_root, max_iters):
    cfg = Config.fromfile(str(PROJECT_ROOT / 'tests/selfsup/configs/'
                              'tiny_pcl_folder-32_dump-ranks.py'))
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'pcl_{work_dir.name}_{max_iters}_{next(_runs)}'
    cfg.train_dataloader.dataset.data_root = str(data_root)
    cfg.train_dataloader.dataset.pipeline.insert(0, dict(type='SeedTorchFromPath'))
    cfg.custom_hooks = cfg.custom_hooks[:1]
    cfg.train_cfg.max_iters = max_iters
    cfg.param_scheduler[0].end = 4
    cfg.default_hooks.checkpoint.interval = 2
    return cfg


def test_resume_is_bit_exact_with_prototypes_and_feature_bank(tmp_path):
    data = make_image_folder(tmp_path / 'images', count=8)
    full = train_tiny(_tiny_run(tmp_path / 'full', data, 4))
    train_tiny(_tiny_run(tmp_path / 'staged', data, 2))
    cfg = _tiny_run(tmp_path / 'staged', data, 4)
    cfg.resume = True
    resumed = train_tiny(cfg)
    expected, got = full.model.state_dict(), resumed.model.state_dict()
    assert int(got['proto_updates']) == 3 and expected.keys() == got.keys()
    for key in expected:
        assert torch.equal(expected[key], got[key]), key
