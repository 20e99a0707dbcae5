"""PixelContrastLoss: values equal a direct computation, edge cases, stride alignment."""
import math

import pytest
import torch
import torch.nn.functional as F

from cl_dense.losses import PixelContrastLoss
from cl_dense.losses.pixel_inputs import labels_at, pixels_at_embedding_size, predictions_at
from cl_dense.samplers import sample_hard_easy_anchors

from .reference import contrast_loss
from .reference import random_batch as _batch


@pytest.mark.parametrize('denominator', ['contrastiveseg', 'supcon'])
def test_value_equals_direct_computation(denominator):
    emb, labels, logits = _batch(0)
    loss_fn = PixelContrastLoss(num_classes=3, temperature=0.2, base_temperature=0.1,
                                max_samples=24, max_views=5, denominator=denominator,
                                loss_weight=0.5)
    out = loss_fn(emb, labels, logits, generator=torch.Generator().manual_seed(3))
    dense, dense_labels, preds = pixels_at_embedding_size(emb, labels, logits, 3, 255)
    index, anchor_labels = sample_hard_easy_anchors(
        dense_labels.reshape(2, -1), preds.reshape(2, -1), 3, 24, 5,
        generator=torch.Generator().manual_seed(3))
    anchors = dense.flatten(2).transpose(1, 2).reshape(-1, 8)[index]
    expected = contrast_loss(anchors, anchor_labels, anchors, anchor_labels, 0.2, 0.1,
                             denominator, exclude_self=True)
    assert out['loss_contrast'].item() == pytest.approx(0.5 * expected.item(), rel=1e-5)
    assert out['contrast_anchors'].item() == index.numel() > 0


def test_gradient_reaches_embeddings_and_keys_are_named_right():
    emb, labels, logits = _batch(1)
    emb.requires_grad_(True)
    out = PixelContrastLoss(num_classes=3, max_views=4, loss_name='loss_pc')(emb, labels, logits)
    assert set(out) == {'loss_pc', 'pc_anchors', 'pc_hard_share'}
    out['loss_pc'].backward()
    assert emb.grad.abs().sum() > 0
    assert emb.grad[:, :, 0].abs().sum() == 0  # ignored row never an anchor


def test_hard_share_is_the_share_of_misclassified_anchors():
    emb, labels, logits = _batch(5)
    loss_fn = PixelContrastLoss(num_classes=3, max_samples=24, max_views=5)
    out = loss_fn(emb, labels, logits, generator=torch.Generator().manual_seed(1))
    _, dense_labels, preds = pixels_at_embedding_size(emb, labels, logits, 3, 255)
    index, anchor_labels = sample_hard_easy_anchors(
        dense_labels.reshape(2, -1), preds.reshape(2, -1), 3, 24, 5,
        generator=torch.Generator().manual_seed(1))
    wrong = sum(int(p != a) for p, a in zip(preds.reshape(-1)[index].tolist(), anchor_labels.tolist()))
    assert 0 < wrong < index.numel()  # the case has both hard and easy anchors
    assert out['contrast_hard_share'].item() == pytest.approx(wrong / index.numel())
    assert loss_fn(emb, labels)['contrast_hard_share'].item() == 0.0  # no logits: nothing is hard


def test_no_valid_anchor_gives_zero_with_gradient():
    emb, labels, _ = _batch(2)
    emb.requires_grad_(True)
    labels[:] = 255
    out = PixelContrastLoss(num_classes=3)(emb, labels)
    assert out['loss_contrast'].item() == 0.0
    out['loss_contrast'].backward()
    assert torch.equal(emb.grad, torch.zeros_like(emb))


def test_class_zero_is_an_anchor_class():
    emb, labels, _ = _batch(3)
    labels[:] = 0
    labels[:, :3] = 1
    out = PixelContrastLoss(num_classes=2, max_views=2, max_samples=8)(emb, labels)
    assert out['contrast_anchors'].item() == 8  # 2 images x 2 classes x 2 views
    assert out['loss_contrast'].item() > 0


def test_labels_out_of_range_raise():
    emb, labels, _ = _batch(4)
    labels[0, 3, 3] = 3
    with pytest.raises(ValueError, match=r'outside \[0, 3\)'):
        PixelContrastLoss(num_classes=3)(emb, labels)


def test_nonfinite_embeddings_and_bad_arguments_raise():
    emb, labels, _ = _batch(5)
    emb[0, 0, 1, 1] = float('nan')
    with pytest.raises(ValueError, match='NaN'):
        PixelContrastLoss(num_classes=3)(emb, labels)
    with pytest.raises(ValueError, match='denominator'):
        PixelContrastLoss(num_classes=3, denominator='infonce')
    with pytest.raises(ValueError, match='loss_name'):
        PixelContrastLoss(num_classes=3, loss_name='contrast')
    with pytest.raises(ValueError, match='threshold'):
        PixelContrastLoss(num_classes=2, threshold=1.0)


def test_bf16_autocast_gives_finite_loss():
    emb, labels, logits = _batch(6)
    conv = torch.nn.Conv2d(8, 8, 1)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = F.normalize(conv(emb), dim=1)
        assert out.dtype == torch.bfloat16
        loss = PixelContrastLoss(num_classes=3, max_views=4)(out, labels, logits)['loss_contrast']
    assert torch.isfinite(loss) and loss.item() > 0
    loss.backward()
    assert torch.isfinite(conv.weight.grad).all()


@pytest.mark.parametrize('stride', [4, 8])
def test_labels_align_with_embedding_stride(stride):
    cells = 4
    gen = torch.Generator().manual_seed(stride)
    block = torch.randint(0, 5, (2, cells, cells), generator=gen)
    full = block.repeat_interleave(stride, 1).repeat_interleave(stride, 2)  # [2, 4s, 4s]
    assert torch.equal(labels_at(full, (cells, cells)), block)
    assert torch.equal(labels_at(full[:, None], (cells, cells)), block)


def test_predictions_from_logits():
    # sigmoid probabilities 0.2, 0.9 / 0.4, 0.29: foreground above mmseg's binary threshold 0.3
    probs = torch.tensor([[[[0.2, 0.9], [0.4, 0.29]]]])
    binary = torch.log(probs / (1 - probs))
    assert predictions_at(binary, (2, 2)).tolist() == [[[0, 1], [1, 0]]]
    assert predictions_at(binary, (2, 2), threshold=0.5).tolist() == [[[0, 1], [0, 0]]]
    multi = torch.randn(1, 3, 4, 4)
    assert torch.equal(predictions_at(multi, (4, 4)), multi.argmax(1))
    assert predictions_at(multi, (8, 8)).shape == (1, 8, 8)


@pytest.mark.parametrize('denominator,extra_positive', [('contrastiveseg', 0), ('supcon', 1)])
def test_hand_built_closed_form(denominator, extra_positive):
    """Two classes of 4 pixels embedded at e0 / e1; 3 anchors per class, each with 2 positives
    (similarity 1) and 3 negatives (similarity 0). With t = t_b = 0.5:
    contrastiveseg L = log(e^2 + 3) - 2; supcon L = log(2 e^2 + 3) - 2."""
    labels = torch.tensor([[[0, 0, 0, 0], [1, 1, 1, 1]]])
    emb = F.one_hot(labels, 2).permute(0, 3, 1, 2).float()
    out = PixelContrastLoss(num_classes=2, temperature=0.5, base_temperature=0.5, max_views=3,
                            denominator=denominator, loss_weight=1.0)(emb, labels)
    expected = math.log((1 + extra_positive) * math.e ** 2 + 3) - 2
    assert out['contrast_anchors'].item() == 6
    assert out['loss_contrast'].item() == pytest.approx(expected, rel=1e-6)


def test_compute_loss_false_gives_zero_with_gradient_path():
    emb, labels, logits = _batch(7)
    emb.requires_grad_(True)
    out = PixelContrastLoss(num_classes=3, max_views=4)(emb, labels, logits, compute_loss=False)
    assert out['loss_contrast'].item() == 0.0 and out['contrast_anchors'].item() > 0
    out['loss_contrast'].backward()
    assert emb.grad is not None and not emb.grad.any()
