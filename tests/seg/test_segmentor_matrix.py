"""The contrast branch on upstream mmseg models: one training step and unchanged inference.

Each case is an ``mmseg::`` model config shrunk for 64 px inputs (``configs/segmentors/``).
"""
import pytest
import torch
from mmengine.registry import init_default_scope

import cl_dense.seg  # noqa: F401  (registers the models and losses)
from mmseg.registry import MODELS

from .tiny import (NUM_CLASSES, base_twin, contrast_model_cfg, fake_batch, record_loss_inputs,
                   upstream_model_cfg)

init_default_scope('mmseg')

CASES = ['deeplabv3_r18-tiny', 'fcn_hr-tiny', 'ocrnet_hr-tiny', 'segformer_mit-tiny',
         'upernet_r18-tiny', 'unet-s5-d16-tiny', 'ddrnet_23-slim-tiny', 'mask2former_r18-tiny']


@pytest.mark.parametrize('name', CASES)
def test_training_step_and_inference_equal_to_the_base_segmentor(name, monkeypatch):
    base_cfg, head = upstream_model_cfg(name)
    torch.manual_seed(0)
    model = MODELS.build(contrast_model_cfg(base_cfg, head))
    calls = record_loss_inputs(model, monkeypatch)
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
