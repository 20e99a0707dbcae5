"""The contrast branch on upstream mmseg models: one training step and unchanged inference.

Each case is an ``mmseg::`` model config shrunk for 64 px inputs (``configs/segmentors/``).
"""
import pytest
import torch

import cl_dense.seg  # noqa: F401  (registers the models and losses)
from mmseg.registry import MODELS

from .tiny import (NUM_CLASSES, base_twin, contrast_model_cfg, fake_batch, record_loss_inputs,
                   upstream_model_cfg)

CASES = ['deeplabv3_r18-tiny', 'fcn_hr-tiny', 'ocrnet_hr-tiny', 'segformer_mit-tiny',
         'upernet_r18-tiny', 'unet-s5-d16-tiny', 'ddrnet_23-slim-tiny', 'mask2former_r18-tiny',
         'pointrend_r18-tiny', 'knet-s3_r18-tiny_fcn', 'pidnet-s-tiny', 'encnet_r18-tiny',
         'maskformer_r18-tiny']


def _recorded_model(name, monkeypatch):
    """(base config, contrast model recording its contrast loss's inputs, their list)."""
    base_cfg, head = upstream_model_cfg(name)
    torch.manual_seed(0)
    model = MODELS.build(contrast_model_cfg(base_cfg, head))
    return base_cfg, model, record_loss_inputs(model, monkeypatch)


@pytest.mark.parametrize('name', CASES)
def test_training_step_and_inference_equal_to_the_base_segmentor(name, monkeypatch):
    base_cfg, model, calls = _recorded_model(name, monkeypatch)
    inputs, samples = fake_batch(size=64)
    model.train()
    losses = model.loss(inputs, samples)
    total, _ = model.parse_losses(losses)
    total.backward()

    loss = losses['loss_contrast']
    assert torch.isfinite(loss) and loss.item() > 0
    grad = model.contrast_head.proj[1].weight.grad
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    (call,) = calls
    logits = call['seg_logits']
    assert logits is not None and not logits.requires_grad
    assert logits.shape[:2] == (2, NUM_CLASSES) and logits.dim() == 4
    assert set(losses) - {'loss_contrast', 'contrast_anchors', 'contrast_active'}  # base losses

    base = base_twin(model, base_cfg)
    model.eval()
    base.eval()
    with torch.no_grad():
        ours, theirs = model.predict(inputs), base.predict(inputs)
    for a, b in zip(ours, theirs):
        assert torch.equal(a.seg_logits.data, b.seg_logits.data)
        assert torch.equal(a.pred_sem_seg.data, b.pred_sem_seg.data)


def _mask_classification_scores(model, x):
    """(Mask2)MaskFormerHead.predict's per-pixel class scores at the mask resolution (stride 4)."""
    size = tuple(x[0].shape[2:])
    metas = [dict(img_shape=size, pad_shape=size, batch_input_shape=size)] * x[0].shape[0]
    return model.decode_head.predict(x, metas, model.test_cfg)


# What inference predicts with, at the decode head's resolution, from eval-mode features.
INFERENCE_LOGITS = {
    'ddrnet_23-slim-tiny': lambda model, x: model.decode_head.forward(x),
    'pidnet-s-tiny': lambda model, x: model.decode_head.forward(x),
    'knet-s3_r18-tiny_fcn': lambda model, x: model.decode_head.forward(x),
    'ocrnet_hr-tiny': lambda model, x: model.decode_head[1].forward(
        x, model.decode_head[0].forward(x)),
    'pointrend_r18-tiny': lambda model, x: model.decode_head[0].forward(x),  # point head: no map
    'mask2former_r18-tiny': _mask_classification_scores,
    'maskformer_r18-tiny': _mask_classification_scores,
}


@pytest.mark.parametrize('name', sorted(INFERENCE_LOGITS))
def test_the_logits_for_sampling_are_the_ones_inference_predicts_with(name, monkeypatch):
    """Every module in eval mode (BN running statistics, no dropout) except the ``training`` flag
    of the backbone and decode heads themselves, which selects their training outputs (tuples,
    extra features): the recorded main logits must equal the inference-mode output."""
    _, model, calls = _recorded_model(name, monkeypatch)
    inputs, samples = fake_batch(size=64)
    model.eval()
    for module in [model.backbone, *model.decode_heads]:
        module.training = True
    model.loss(inputs, samples)
    model.eval()
    with torch.no_grad():
        expected = INFERENCE_LOGITS[name](model, model.extract_feat(inputs))
    torch.testing.assert_close(calls[0]['seg_logits'], expected, rtol=1e-6, atol=1e-6)
