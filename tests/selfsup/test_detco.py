"""DetCo: shapes, key encoder (copy at start, EMA maths, no gradients), one batched backbone
pass for the jigsaw patches, the local concatenation order, queue order and what the loss sees of the queue."""
import pytest
import torch
from mmengine.optim import OptimWrapper

from cl_dense.losses import info_nce

from .tiny import multiview_batch, tiny_detco


def _step(model, data, lr=0.1):
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=lr))
    return model.train_step(data, wrapper)


def _params(module):
    return {k: v.detach().clone() for k, v in module.named_parameters()}


def test_shapes_of_every_level_and_loss_terms():
    model = tiny_detco()
    inputs = model.data_preprocessor(multiview_batch(batch=3), True)['inputs']
    assert inputs['global'].shape == (3, 2, 3, 32, 32) and inputs['global'].dtype == torch.float32
    feats = model(inputs, mode='tensor')
    assert [tuple(f.shape) for f in feats] == [(3, 8, 8, 8), (3, 16, 4, 4), (3, 32, 2, 2),
                                              (3, 64, 1, 1)]
    enc = model.query_encoder
    for emb in enc.global_embed(inputs['global'][:, 0]) + enc.local_embed(
            inputs['jigsaw'][:, 0], inputs['jigsaw_perm'][:, 0]):
        assert emb.shape == (3, 16)
        torch.testing.assert_close(emb.norm(dim=1), torch.ones(3))
    losses = model(inputs, mode='loss')
    assert sorted(losses) == sorted([f'loss_{t}_res{l}' for t in ('g2g', 'l2l', 'l2g')
                                     for l in (2, 3, 4, 5)] + ['queue_fill'])
    assert len(model.queues) == 8 and all(q.feats.shape == (1, 12, 16)
                                          for q in model.queues.values())
    with pytest.raises(ValueError, match='"loss" and "tensor"'):
        model(inputs, mode='predict')
    with pytest.raises(ValueError, match='lack'):
        model({'global': inputs['global']}, mode='loss')


def test_key_encoder_is_the_initialised_query_encoder_and_gets_no_gradient():
    model = tiny_detco()
    fresh = tiny_detco()  # another random init: the copy must be of *this* model's init
    query, key = _params(model.query_encoder), _params(model.key_encoder.module)
    assert query.keys() == key.keys()
    assert all(torch.equal(query[k], key[k]) for k in query)
    assert any(not torch.equal(query[k], _params(fresh.query_encoder)[k]) for k in query)
    for k, v in model.key_encoder.module.state_dict().items():  # buffers too
        assert torch.equal(v, model.query_encoder.state_dict()[k]), k
    inputs = model.data_preprocessor(multiview_batch(), True)['inputs']
    losses = model(inputs, mode='loss')
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    assert all(not p.requires_grad and p.grad is None
               for p in model.key_encoder.module.parameters())
    assert all(p.grad is not None for p in model.query_encoder.parameters())


def test_momentum_update_is_k_times_m_plus_q_times_one_minus_m():
    model = tiny_detco(momentum=0.9)
    _step(model, multiview_batch(seed=1))  # the first update copies (mmengine's steps == 0)
    key_before, query_now = _params(model.key_encoder.module), _params(model.query_encoder)
    assert any(not torch.equal(key_before[k], query_now[k]) for k in key_before)
    inputs = model.data_preprocessor(multiview_batch(seed=2), True)['inputs']
    model(inputs, mode='loss')
    key_after = _params(model.key_encoder.module)
    for name in key_before:
        torch.testing.assert_close(key_after[name], 0.9 * key_before[name] + 0.1 * query_now[name])
    assert int(model.key_encoder.steps) == 2


def test_patches_go_through_the_backbone_in_one_forward():
    model = tiny_detco()
    shapes = {'query': [], 'key': []}
    model.query_encoder.backbone.register_forward_hook(
        lambda m, args, out: shapes['query'].append(tuple(args[0].shape)))
    model.key_encoder.module.backbone.register_forward_hook(
        lambda m, args, out: shapes['key'].append(tuple(args[0].shape)))
    inputs = model.data_preprocessor(multiview_batch(batch=5), True)['inputs']
    model(inputs, mode='loss')
    assert shapes['query'] == shapes['key'] == [(5, 3, 32, 32), (45, 3, 16, 16)]


def _cell_ordered(patches, perm):
    """The patches put back in cell order (``[N, P, C, h, w]``)."""
    return patches.gather(1, perm.argsort(1)[:, :, None, None, None].expand_as(patches))


def test_shuffled_local_embedding_depends_on_the_permutation():
    """Default (DetCo/PIRL): the local head sees the patches in their shuffled order, so the same
    cells under two permutations give two embeddings (the jigsaw is not a no-op), and ``perm`` is
    not used to undo it."""
    model = tiny_detco()
    inputs = model.data_preprocessor(multiview_batch(batch=3, seed=4), True)['inputs']
    patches, perm = inputs['jigsaw'][:, 0], inputs['jigsaw_perm'][:, 0]
    identity = torch.arange(9).expand(3, 9)
    model.eval()
    with torch.no_grad():
        shuffled = model.query_encoder.local_embed(patches, perm)
        in_cell_order = model.query_encoder.local_embed(_cell_ordered(patches, perm), identity)
        perm_ignored = model.query_encoder.local_embed(patches, identity)
    for a, b, c in zip(shuffled, in_cell_order, perm_ignored):
        assert not torch.allclose(a, b, atol=1e-4)
        torch.testing.assert_close(a, c)
    assert model.query_encoder.local_order == 'shuffled'
    with pytest.raises(ValueError, match='local_order'):
        tiny_detco(local_order='sorted')


def test_cell_order_local_embedding_does_not_depend_on_the_shuffle():
    model = tiny_detco(local_order='cell')
    inputs = model.data_preprocessor(multiview_batch(batch=3, seed=4), True)['inputs']
    patches, perm = inputs['jigsaw'][:, 0], inputs['jigsaw_perm'][:, 0]
    ordered = _cell_ordered(patches, perm)
    identity = torch.arange(9).expand(3, 9)
    model.eval()
    with torch.no_grad():
        shuffled = model.query_encoder.local_embed(patches, perm)
        canonical = model.query_encoder.local_embed(ordered, identity)
        wrong = model.query_encoder.local_embed(patches, identity)
    for a, b, c in zip(shuffled, canonical, wrong):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
        assert not torch.allclose(a, c, atol=1e-4)


def test_keys_are_enqueued_oldest_first_and_are_the_positives_of_the_loss():
    model = tiny_detco(queue_size=6)
    seen, pushed = [], []
    loss_fn = model.loss_fn.forward
    model.loss_fn.forward = lambda q, k, p: seen.append((q, k.clone(), p)) or loss_fn(q, k, p)
    push = model.queues['global_res5'].push
    model.queues['global_res5'].push = lambda f, l: pushed.append(f.clone()) or push(f, l)
    for seed in range(2):
        _step(model, multiview_batch(batch=4, seed=seed))
    # per step 12 loss calls; the g2g term of res5 is call 9 (levels in order, g2g first)
    (q1, keys1, slots1), (q2, keys2, slots2) = seen[9], seen[12 + 9]
    assert torch.equal(keys1, pushed[0]) and slots1.tolist() == [0, 1, 2, 3]
    # 6 slots: step 1 wrote slots 0-3, step 2 wrote slots 4, 5 then wrapped to 0, 1
    assert torch.equal(keys2, torch.cat([pushed[1][2:], pushed[0][2:], pushed[1][:2]]))
    assert slots2.tolist() == [4, 5, 0, 1] and torch.equal(keys2[slots2], pushed[1])
    hand = torch.nn.functional.cross_entropy(q2 @ keys2.T / 0.2, slots2)
    torch.testing.assert_close(model.loss_fn(q2, keys2, slots2), hand)
    queue = model.queues['global_res5']
    assert int(queue.ptr) == 2 and int(queue.count) == 6
    with pytest.raises(ValueError, match='smaller than one step'):
        _step(tiny_detco(queue_size=3), multiview_batch(batch=4))


def test_global_only_ablation_has_one_level_and_two_queue_free_terms():
    model = tiny_detco(levels=(3,), level_weights=(1.0,), local=False)
    data = multiview_batch()
    del data['inputs']['jigsaw'], data['inputs']['jigsaw_perm']
    out = _step(model, data)
    assert set(out) == {'loss', 'loss_g2g_res5', 'queue_fill'}
    assert list(model.queues) == ['global_res5'] and model.query_encoder.local_heads is None


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='level_weights'):
        tiny_detco(levels=(2, 3))
    with pytest.raises(ValueError, match='levels must be'):
        tiny_detco(levels=(4,), level_weights=(1.0,))
    with pytest.raises(ValueError, match='momentum'):
        tiny_detco(momentum=1.0)
