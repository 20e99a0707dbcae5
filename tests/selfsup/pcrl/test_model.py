"""PCRL model: the four loss terms against a dense reference, gradients reach the decoder and
the code attention but never the momentum encoder, EMA maths, clear errors for bad inputs."""
import pytest
import torch
import torch.nn.functional as F

from .tiny import pcrl_batch, tiny_pcrl


def _inputs(model, **kwargs):
    return model.data_preprocessor(pcrl_batch(**kwargs), True)['inputs']


def _info_nce_reference(query, keys, positives, temperature):
    """Dense cross-entropy over all keys (the queue never is this small in training)."""
    return F.cross_entropy(query @ keys.t() / temperature, positives)


def test_losses_match_a_dense_reference_with_lam_fixed(monkeypatch):
    """lam = 0.7 for every sample: the hybrid is 0.7 f1 + 0.3 f2 of the online encoder, its key
    normalize(0.7 k1 + 0.3 k2) in this step's slots, its target 0.7 t1 + 0.3 t2."""
    model = tiny_pcrl()
    inputs = _inputs(model)
    lam = 0.7
    monkeypatch.setattr(model.beta, 'sample', lambda shape: torch.full(shape, 1 - lam))
    model.queue.push(F.normalize(torch.randn(5, 16), dim=1), torch.zeros(5, dtype=torch.long))
    old_queue = model.queue.feats[0, :5].clone()
    model.train()
    losses = model(inputs, mode='loss')
    # the reference: the same networks, queried after the EMA step the loss made
    net, key_net = model.query_encoder, model.key_encoder.module
    views, targets, codes = inputs['view'], inputs['view_target'], inputs['view_code']
    with torch.no_grad():
        f1, f2 = net.encode(views[:, 0]), net.encode(views[:, 1])
        k1, k2 = (key_net.embed(key_net.encode(views[:, i])) for i in (0, 1))
        queue = torch.cat([old_queue, k2])
        slots = torch.arange(5, 9)
        mixed = [lam * a + (1 - lam) * b for a, b in zip(f1, f2)]
        hybrid_keys = queue.clone()
        hybrid_keys[slots] = F.normalize(lam * k1 + (1 - lam) * k2, dim=1)
        want = {
            'loss_contrast': _info_nce_reference(net.embed(f1), queue, slots, 0.2),
            'loss_hybrid': _info_nce_reference(net.embed(mixed), hybrid_keys, slots, 0.2),
            'loss_rec': (F.mse_loss(net.decode(f1, codes[:, 0]), targets[:, 0])
                         + F.mse_loss(net.decode(f2, codes[:, 1]), targets[:, 1])) / 2,
            'loss_rec_hybrid': F.mse_loss(
                net.decode(mixed, lam * codes[:, 0] + (1 - lam) * codes[:, 1]),
                lam * targets[:, 0] + (1 - lam) * targets[:, 1]),
        }
    assert torch.allclose(model.queue.feats[0, :9], queue)
    for key, value in want.items():
        torch.testing.assert_close(losses[key].detach(), value, rtol=1e-4, atol=1e-5)
    assert losses['queue_fill'] == 9 / 12


def test_gradients_reach_decoder_and_code_attention_not_the_momentum_encoder():
    model = tiny_pcrl()
    losses = model(_inputs(model), mode='loss')
    total = sum(v for k, v in losses.items() if k.startswith('loss'))
    assert torch.isfinite(total)
    total.backward()
    net = model.query_encoder
    for name, module in (('decoder', net.backbone.decoder), ('code attention', net.condition),
                         ('reconstruction', net.recon_head), ('projector', net.projector),
                         ('encoder', net.backbone.encoder)):
        grads = [p.grad for p in module.parameters()]
        assert all(g is not None for g in grads), name
        assert sum(float(g.abs().sum()) for g in grads) > 0, name
    assert all(not p.requires_grad and p.grad is None for p in model.key_encoder.parameters())


def test_momentum_encoder_is_an_ema_of_the_online_network():
    model = tiny_pcrl(momentum=0.9)
    inputs = _inputs(model)
    model(inputs, mode='loss')  # mmengine's EMA copies at its first update, averages after
    with torch.no_grad():  # make the two differ
        for p in model.query_encoder.parameters():
            p.add_(0.1)
    before = {k: v.clone() for k, v in model.key_encoder.module.named_parameters()}
    online = dict(model.query_encoder.named_parameters())
    model(inputs, mode='loss')
    assert int(model.key_encoder.steps) == 2
    for key, value in model.key_encoder.module.named_parameters():
        torch.testing.assert_close(value, 0.9 * before[key] + 0.1 * online[key].detach())


def test_bad_inputs_are_named():
    model = tiny_pcrl()
    inputs = _inputs(model)
    with pytest.raises(ValueError, match='view_code'):
        model({k: v for k, v in inputs.items() if k != 'view_code'}, mode='loss')
    with pytest.raises(ValueError, match=r'\[B, 2, 8\]'):
        model(dict(inputs, view_code=inputs['view_code'][..., :4]), mode='loss')
    with pytest.raises(ValueError, match='mixup_alpha'):
        tiny_pcrl(mixup_alpha=0.0)
    with pytest.raises(ValueError, match='UNet-like'):
        tiny_pcrl(backbone=dict(type='mmseg.ResNetV1c', depth=18, base_channels=8,
                                stem_channels=8))


def test_tensor_mode_gives_the_unet_outputs_of_the_first_view_and_other_modes_raise():
    model = tiny_pcrl().eval()
    inputs = _inputs(model)
    with torch.no_grad():
        from_views = model(inputs, mode='tensor')
        from_images = model(inputs['view'][:, 0], mode='tensor')
        direct = model.query_encoder.backbone(inputs['view'][:, 0])
    assert len(from_views) == len(direct)
    for a, b, c in zip(from_views, from_images, direct):
        assert torch.equal(a, c) and torch.equal(b, c)
    with pytest.raises(ValueError, match='PCRL supports mode'):
        model(inputs, mode='predict')
