"""ContrastEncoderDecoder: inference identical to the base segmentor, warm-up, loss keys."""
import math

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import cl_dense.seg  # noqa: F401  (registers the models and losses)
from cl_dense.losses import pixel_base
from cl_dense.seg.models import contrast_segmentor
from mmseg.models.decode_heads import FCNHead
from mmseg.registry import MODELS

from .tiny import IN_BATCH, NUM_CLASSES, base_twin, fake_batch, record_loss_inputs, tiny_model_cfg


def _build(cfg):
    torch.manual_seed(0)
    return MODELS.build(cfg)


def _base_twin(model, cfg):
    """A plain EncoderDecoder of the same architecture holding ``model``'s weights."""
    base_cfg = {k: v for k, v in cfg.items() if not k.startswith('contrast_')}
    return base_twin(model, dict(base_cfg, type='EncoderDecoder'))


def test_inference_equals_base_segmentor_in_output_and_cost():
    cfg = tiny_model_cfg()
    model = _build(cfg)
    inputs, samples = fake_batch()
    for _ in range(2):  # train a little so that BN statistics and banks are not at init
        model.train()
        model.loss(inputs, samples)
    base = _base_twin(model, cfg)
    model.eval()
    base.eval()
    calls = []
    model.contrast_head.register_forward_hook(lambda *args: calls.append(1))
    with torch.no_grad():
        with FlopCounterMode(display=False) as flops_model:
            ours = model.predict(inputs)
        with FlopCounterMode(display=False) as flops_base:
            theirs = base.predict(inputs)
        assert torch.equal(model._forward(inputs), base._forward(inputs))
    assert not calls
    assert flops_model.get_total_flops() == flops_base.get_total_flops() > 0
    for a, b in zip(ours, theirs):
        assert torch.equal(a.seg_logits.data, b.seg_logits.data)
        assert torch.equal(a.pred_sem_seg.data, b.pred_sem_seg.data)


def test_warmup_switches_the_contrast_loss_on_after_the_warmup_iterations():
    model = _build(tiny_model_cfg(contrast_loss=IN_BATCH, warmup=2))
    model.train()
    inputs, samples = fake_batch()
    values, active = [], []
    for _ in range(4):
        losses = model.loss(inputs, samples)
        values.append(losses['loss_contrast'].item())
        active.append(losses['contrast_active'].item())
    assert values[0] == values[1] == 0.0
    assert values[2] > 0 and values[3] > 0
    assert active == [0.0, 0.0, 1.0, 1.0]
    assert int(model.contrast_iter) == 4
    assert 'contrast_iter' in model.state_dict()


def test_loss_keys_and_parsing():
    model = _build(tiny_model_cfg(warmup=0))
    model.train()
    inputs, samples = fake_batch()
    model.loss(inputs, samples)  # fill the banks
    losses = model.loss(inputs, samples)
    assert {'decode.loss_ce', 'decode.acc_seg', 'loss_contrast', 'contrast_anchors',
            'contrast_keys', 'contrast_pixel_fill', 'contrast_region_fill_min',
            'contrast_active'} <= set(losses)
    total, log_vars = model.parse_losses(losses)
    expected = losses['decode.loss_ce'] + losses['loss_contrast']
    assert torch.allclose(total, expected)
    assert losses['loss_contrast'].item() > 0 and losses['contrast_keys'].item() > 0
    total.backward()
    assert model.contrast_head.proj[1].weight.grad.abs().sum() > 0
    assert all(torch.is_tensor(v) or isinstance(v, float) for v in log_vars.values())


def test_decode_logits_reach_the_loss_detached(monkeypatch):
    model = _build(tiny_model_cfg(contrast_loss=IN_BATCH))
    model.train()
    calls = record_loss_inputs(model, monkeypatch)
    inputs, samples = fake_batch()
    model.loss(inputs, samples)
    (seen,) = calls
    assert seen['seg_logits'].shape == (2, NUM_CLASSES, 4, 4)
    assert not seen['seg_logits'].requires_grad
    assert seen['embeddings'].shape == (2, 16, 8, 8)  # level 0: stride 4
    assert seen['seg_labels'].shape == (2, 1, 32, 32)
    assert model.contrast_loss.num_classes == NUM_CLASSES
    assert model.contrast_loss.ignore_index == 255


@MODELS.register_module()
class _OwnLossFCNHead(FCNHead):
    """A decode head with its own ``loss`` that calls ``forward`` (as most mmseg heads do)."""

    def loss(self, inputs, batch_data_samples, train_cfg):
        return self.loss_by_feat(self.forward(inputs), batch_data_samples)


@MODELS.register_module()
class _NoForwardFCNHead(FCNHead):
    """A decode head whose ``loss`` never calls ``forward``: no logits can be recorded."""

    def loss(self, inputs, batch_data_samples, train_cfg):
        return self.loss_by_feat(self.cls_seg(self._forward_feature(inputs)), batch_data_samples)


def _recorded_model(head_type, monkeypatch):
    """The tiny in-batch model with decode head ``head_type``, in training mode, recording the
    contrast loss's inputs."""
    cfg = tiny_model_cfg(contrast_loss=IN_BATCH, warmup=0)
    cfg['decode_head']['type'] = head_type
    model = _build(cfg)
    model.train()
    return model, record_loss_inputs(model, monkeypatch)


def test_head_with_its_own_loss_keeps_it_and_its_logits_reach_the_loss(monkeypatch):
    model, calls = _recorded_model('_OwnLossFCNHead', monkeypatch)
    inputs, samples = fake_batch()
    losses = model.loss(inputs, samples)
    with torch.no_grad():  # BN in train mode: batch statistics, the same as in loss
        expected = model.decode_head.forward(model.extract_feat(inputs))
    assert torch.equal(calls[0]['seg_logits'], expected)
    assert 'decode.loss_ce' in losses and losses['loss_contrast'].item() > 0
    assert 'forward' not in vars(model.decode_head)  # the recording wrapper is gone


def test_head_without_forward_in_loss_samples_from_labels_and_warns_once(monkeypatch):
    model, calls = _recorded_model('_NoForwardFCNHead', monkeypatch)
    warnings = []
    monkeypatch.setattr(contrast_segmentor, 'print_log',
                        lambda msg, **kwargs: warnings.append(msg))
    for _ in range(2):
        losses = model.loss(*fake_batch())
    assert [c['seg_logits'] for c in calls] == [None, None]
    assert len(warnings) == 1 and 'labels only' in warnings[0]
    assert 'decode.loss_ce' in losses and losses['loss_contrast'].item() > 0


def test_configuration_errors():
    cfg = tiny_model_cfg()
    cfg['contrast_loss']['proj_dim'] = 32
    with pytest.raises(ValueError, match='proj_dim'):
        _build(cfg)
    with pytest.raises(ValueError, match='contrast_warmup_iters'):
        _build(tiny_model_cfg(warmup=-1))
    cfg = tiny_model_cfg(contrast_loss=dict(type='NoSuchContrastLoss'))
    with pytest.raises(ValueError, match='not registered'):
        _build(cfg)


def test_auxiliary_head_losses_are_kept():
    cfg = tiny_model_cfg(contrast_loss=IN_BATCH, warmup=0)
    cfg['auxiliary_head'] = dict(
        type='FCNHead', in_channels=32, in_index=2, channels=8, num_convs=1, concat_input=False,
        dropout_ratio=0.0, num_classes=NUM_CLASSES, norm_cfg=dict(type='BN', requires_grad=True),
        loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.4))
    model = _build(cfg)
    model.train()
    losses = model.loss(*fake_batch())
    assert {'decode.loss_ce', 'aux.loss_ce', 'loss_contrast'} <= set(losses)


def test_bf16_autocast_training_step_is_finite():
    model = _build(tiny_model_cfg(warmup=0))
    model.train()
    inputs, samples = fake_batch()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        model.loss(inputs, samples)
        losses = model.loss(inputs, samples)
        total, _ = model.parse_losses(losses)
    assert torch.isfinite(losses['loss_contrast']) and losses['loss_contrast'].item() > 0
    total.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_projection_head_reads_neck_levels_when_there_is_a_neck():
    cfg = tiny_model_cfg(contrast_loss=IN_BATCH, warmup=0)
    cfg['neck'] = dict(type='FPN', in_channels=[8, 16, 32, 64], out_channels=16, num_outs=4)
    cfg['decode_head'].update(in_channels=16)
    cfg['contrast_head'].update(in_channels=[16, 16], in_index=[0, 3])
    model = _build(cfg)
    model.train()
    losses = model.loss(*fake_batch())
    assert losses['loss_contrast'].item() > 0


@pytest.mark.parametrize('threshold,expected_loss_threshold', [(None, 0.3), (0.45, 0.45)])
def test_binary_head_predictions_use_the_heads_threshold(threshold, expected_loss_threshold,
                                                         monkeypatch):
    """A binary head (out_channels=1) whose every pixel has sigmoid probability 0.4: with the
    head's threshold (mmseg default 0.3) all pixels are predicted foreground; 0.45 -> none."""
    cfg = tiny_model_cfg(contrast_loss=IN_BATCH, warmup=0)
    cfg['decode_head'].update(num_classes=2, out_channels=1, threshold=threshold,
                              loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True))
    model = _build(cfg)
    assert model.contrast_loss.threshold == model.decode_head.threshold == expected_loss_threshold
    with torch.no_grad():
        model.decode_head.conv_seg.weight.zero_()
        model.decode_head.conv_seg.bias.fill_(math.log(0.4 / 0.6))
    seen = []
    original = pixel_base.sample_hard_easy_anchors

    def recorded(labels, preds, *args, **kwargs):
        seen.append(preds)
        return original(labels, preds, *args, **kwargs)

    monkeypatch.setattr(pixel_base, 'sample_hard_easy_anchors', recorded)
    inputs, samples = fake_batch()
    for sample in samples:
        sample.gt_sem_seg.data = (sample.gt_sem_seg.data >= 2).long()
    model.train()
    losses = model.loss(inputs, samples)
    assert torch.isfinite(losses['loss_contrast'])
    (preds,) = seen
    assert torch.equal(preds, torch.full_like(preds, int(0.4 > expected_loss_threshold)))
