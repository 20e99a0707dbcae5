"""PixelMemoryContrastLoss: values against the banks, pushes, ignore/class 0, mining, edge cases."""
import pytest
import torch
import torch.nn.functional as F

from cl_dense.losses import PixelMemoryContrastLoss
from cl_dense.losses.pixel_inputs import pixels_at_embedding_size
from cl_dense.samplers import mine_semi_hard_keys, sample_hard_easy_anchors

from .reference import contrast_loss
from .reference import random_batch as _batch

DIM = 8  # random_batch's default embedding dimension


def _loss(**kwargs):
    args = dict(num_classes=3, proj_dim=DIM, memory_size=7, pixel_update_freq=3, max_views=2,
                max_samples=40, temperature=0.1, base_temperature=0.07)
    args.update(kwargs)
    return PixelMemoryContrastLoss(**args)


def _anchors(emb, labels, logits, seed, max_samples=40, max_views=2):
    """Anchors the loss draws first with ``Generator().manual_seed(seed)``, and the generator."""
    gen = torch.Generator().manual_seed(seed)
    dense, dense_labels, preds = pixels_at_embedding_size(emb, labels, logits, 3, 255)
    num = dense.shape[0]
    index, anchor_labels = sample_hard_easy_anchors(
        dense_labels.reshape(num, -1), preds.reshape(num, -1), 3, max_samples, max_views,
        generator=gen)
    return dense.flatten(2).transpose(1, 2).reshape(-1, DIM)[index], anchor_labels, gen


def _fill(loss_fn, seeds=(10, 11, 12)):
    for seed in seeds:
        emb, labels, logits = _batch(seed)
        loss_fn(emb, labels, logits, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize('denominator', ['contrastiveseg', 'supcon'])
@pytest.mark.parametrize('in_batch_weight', [0.0, 0.5])
def test_value_equals_direct_computation_against_banks(denominator, in_batch_weight):
    loss_fn = _loss(denominator=denominator, in_batch_weight=in_batch_weight, loss_weight=2.0)
    _fill(loss_fn)
    pixel_keys, region_keys = loss_fn.pixel_bank.keys(), loss_fn.region_bank.keys()
    keys = torch.cat([pixel_keys[0], region_keys[0]])
    key_labels = torch.cat([pixel_keys[1], region_keys[1]])
    emb, labels, logits = _batch(0)
    out = loss_fn(emb, labels, logits, generator=torch.Generator().manual_seed(5))
    anchors, anchor_labels, _ = _anchors(emb, labels, logits, 5)
    expected = contrast_loss(anchors, anchor_labels, keys, key_labels, 0.1, 0.07, denominator,
                             exclude_self=False)
    if in_batch_weight:
        expected = expected + in_batch_weight * contrast_loss(
            anchors, anchor_labels, anchors, anchor_labels, 0.1, 0.07, denominator,
            exclude_self=True)
    assert out['loss_contrast'].item() == pytest.approx(2.0 * expected.item(), rel=1e-5)
    assert out['contrast_keys'].item() == keys.shape[0]
    assert out['contrast_anchors'].item() == anchors.shape[0]


def test_mined_value_equals_per_class_computation():
    mining = dict(num_positives=2, num_negatives=3, candidate_ratio=0.5)
    loss_fn = _loss(mining=mining)
    _fill(loss_fn)
    keys = torch.cat([loss_fn.pixel_bank.keys()[0], loss_fn.region_bank.keys()[0]])
    key_labels = torch.cat([loss_fn.pixel_bank.keys()[1], loss_fn.region_bank.keys()[1]])
    emb, labels, logits = _batch(1)
    out = loss_fn(emb, labels, logits, generator=torch.Generator().manual_seed(8))
    anchors, anchor_labels, gen = _anchors(emb, labels, logits, 8)
    classes, index, valid = mine_semi_hard_keys(anchors, anchor_labels, keys, key_labels, 2, 3,
                                                0.5, generator=gen)
    total, count = 0.0, 0
    for row, c in enumerate(classes.tolist()):
        rows = anchor_labels == c
        mined = index[row][valid[row]]
        value = contrast_loss(anchors[rows], anchor_labels[rows], keys[mined], key_labels[mined],
                              0.1, 0.07, 'contrastiveseg', exclude_self=False)
        total, count = total + int(rows.sum()) * value.item(), count + int(rows.sum())
    assert out['loss_contrast'].item() == pytest.approx(total / count, rel=1e-5)


def test_banks_receive_detached_keys_after_the_loss():
    loss_fn = _loss(memory_size=50)
    emb, labels, logits = _batch(2)
    emb.requires_grad_(True)
    out = loss_fn(emb, labels, logits)
    assert out['loss_contrast'].item() == 0.0  # banks were empty when the loss ran
    out['loss_contrast'].backward()
    assert not loss_fn.pixel_bank.feats.requires_grad
    counts = torch.stack([(labels == c).flatten(1).sum(1).clamp(max=3) for c in range(3)], 1)
    assert torch.equal(loss_fn.pixel_bank.count, counts.sum(0))
    presence = torch.stack([(labels == c).flatten(1).any(1) for c in range(3)], 1)
    assert torch.equal(loss_fn.region_bank.count, presence.sum(0))
    feats, region_labels = loss_fn.region_bank.keys()
    for c in range(3):  # the region key of image 0 (pushed first) is its class mean
        mean = F.normalize(emb[0].detach().flatten(1)[:, labels[0].flatten() == c].mean(1), dim=0)
        assert torch.allclose(feats[region_labels == c][0], mean, atol=1e-6)


def test_ignored_pixels_never_keys_and_class_zero_is():
    emb, labels, logits = _batch(3)
    ignore_emb = torch.zeros(DIM)
    ignore_emb[0] = 1.0
    emb = torch.where((labels == 255)[:, None], ignore_emb[None, :, None, None], emb)
    loss_fn = _loss(memory_size=100, pixel_update_freq=100)
    loss_fn(emb, labels, logits)
    for bank in (loss_fn.pixel_bank, loss_fn.region_bank):
        feats, key_labels = bank.keys()
        assert (key_labels != 255).all() and (key_labels == 0).any()
        assert not torch.isclose(feats @ ignore_emb, torch.ones(())).any()
    assert loss_fn.pixel_bank.count[0] == (labels == 0).sum()


@pytest.mark.parametrize('stride', [4, 8])
def test_bank_keys_align_with_embedding_stride(stride):
    """Embedding cell (i, j) encodes the label of image block (i, j): keys must match labels."""
    cells = 4
    block = torch.randint(0, 3, (2, cells, cells), generator=torch.Generator().manual_seed(stride))
    full = block.repeat_interleave(stride, 1).repeat_interleave(stride, 2)
    emb = F.one_hot(block, DIM).permute(0, 3, 1, 2).float()
    loss_fn = _loss(memory_size=64, pixel_update_freq=64, max_views=1)
    out = loss_fn(emb, full[:, None])
    feats, key_labels = loss_fn.pixel_bank.keys()
    assert torch.equal(feats, F.one_hot(key_labels, DIM).float())
    assert loss_fn.pixel_bank.count.sum() == 2 * cells * cells
    out = loss_fn(emb, full[:, None])  # now every anchor has its own class in the bank
    assert torch.isfinite(out['loss_contrast'])


def test_no_valid_anchor_gives_zero_and_fill_diagnostics():
    loss_fn = _loss(fill_stats='per_class')
    _fill(loss_fn, seeds=(20,))
    emb, labels, _ = _batch(4)
    emb.requires_grad_(True)
    out = loss_fn(emb, torch.full_like(labels, 255))
    assert out['loss_contrast'].item() == 0.0 and out['contrast_anchors'].item() == 0
    out['loss_contrast'].backward()
    assert torch.equal(emb.grad, torch.zeros_like(emb))
    assert {f'contrast_pixel_fill_c{c}' for c in range(3)} <= set(out)
    assert all('loss' not in key for key in out if key != 'loss_contrast')
    summary = _loss()(emb.detach(), labels)
    assert summary['contrast_region_fill'].item() == pytest.approx(2 / 7)
    assert summary['contrast_region_fill_min'].item() == pytest.approx(2 / 7)


def test_bf16_autocast_gives_finite_loss():
    loss_fn = _loss()
    _fill(loss_fn)
    emb, labels, logits = _batch(5)
    conv = torch.nn.Conv2d(DIM, DIM, 1)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = F.normalize(conv(emb), dim=1)
        loss = loss_fn(out, labels, logits, generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(loss['loss_contrast']) and loss['loss_contrast'].item() > 0
    loss['loss_contrast'].backward()
    assert torch.isfinite(conv.weight.grad).all()


def test_bad_inputs_raise():
    emb, labels, _ = _batch(6)
    labels[1, 2, 2] = 7
    with pytest.raises(ValueError, match=r'outside \[0, 3\)'):
        _loss()(emb, labels)
    with pytest.raises(ValueError, match='proj_dim'):
        _loss(proj_dim=4)(emb, labels)
    with pytest.raises(ValueError, match='banks'):
        _loss(banks=('pixel', 'segment'))
    with pytest.raises(ValueError, match='mining keys'):
        _loss(mining=dict(top_k=3))


def test_single_bank_state_dict():
    loss_fn = _loss(banks=('region',))
    assert set(loss_fn.state_dict()) == {'region_bank.feats', 'region_bank.ptr',
                                         'region_bank.count'}


def test_compute_loss_false_still_pushes_and_keeps_a_gradient_path():
    loss_fn = _loss()
    _fill(loss_fn, seeds=(30,))
    before = loss_fn.pixel_bank.count.clone()
    emb, labels, logits = _batch(7)
    emb.requires_grad_(True)
    out = loss_fn(emb, labels, logits, compute_loss=False)
    assert out['loss_contrast'].item() == 0.0 and out['contrast_anchors'].item() > 0
    assert (loss_fn.pixel_bank.count > before).any()
    out['loss_contrast'].backward()
    assert emb.grad is not None and not emb.grad.any()


def test_one_data_check_per_call(monkeypatch):
    """One host-synchronising data check (labels and finiteness) per loss call: the sampler,
    the contrast op, the dense helpers and both bank pushes trust it (before, 6 checks)."""
    import sys

    from cl_dense.ops import validation

    calls = []
    original = validation.raise_on_flags

    def counting(checks):
        calls.append(list(checks))
        return original(checks)

    for name, module in list(sys.modules.items()):
        if name.startswith('cl_dense') and getattr(module, 'raise_on_flags', None) is original:
            monkeypatch.setattr(module, 'raise_on_flags', counting)
    loss_fn = _loss(in_batch_weight=0.5)
    _fill(loss_fn, seeds=(40,))
    calls.clear()
    emb, labels, logits = _batch(8)
    out = loss_fn(emb, labels, logits, generator=torch.Generator().manual_seed(0))
    assert out['loss_contrast'].item() > 0 and out['contrast_keys'].item() > 0
    assert len(calls) == 1, calls


def test_nan_in_an_ignored_pixel_raises():
    emb, labels, logits = _batch(9)
    labels[0, 0, 0] = 255
    emb[0, :, 0, 0] = float('nan')
    with pytest.raises(ValueError, match='NaN'):
        _loss()(emb, labels, logits)
