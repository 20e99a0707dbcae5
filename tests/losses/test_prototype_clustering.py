"""PrototypeClusteringLoss equals a direct per-feature, per-prototype computation (both forms)."""
import math

import pytest
import torch

from cl_dense.losses import PrototypeClusteringLoss


def _case(seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    feats = torch.randn(7, 5, generator=gen, dtype=torch.float64) * 3
    protos = torch.randn(4, 5, generator=gen, dtype=torch.float64) * 3
    labels = torch.tensor([0, 1, 2, 3, 1, 0, 3])
    valid = torch.tensor([True, True, False, True])
    return feats, labels, protos, valid


def _direct(feats, labels, protos, valid, form, margin=10.0, p=10.0, hinge=2.0):
    """Loops over features and valid prototypes, written from the two formulas."""
    terms, per_feature = [], []
    for f, c in zip(feats.tolist(), labels.tolist()):
        if not valid[c]:
            continue
        row = 0.0
        for j, proto in enumerate(protos.tolist()):
            if not valid[j]:
                continue
            diffs = [abs(a - b) for a, b in zip(f, proto)]
            if form == 'paper':
                dist = math.sqrt(sum(d * d for d in diffs))
                row += dist if j == c else max(0.0, margin - dist)
            else:
                dist = sum(d ** p for d in diffs) ** (1.0 / p)
                terms.append(dist if j == c else max(0.0, hinge - dist))
        per_feature.append(row)
    if form == 'paper':
        return sum(per_feature) / len(per_feature)
    return sum(terms) / len(terms)


@pytest.mark.parametrize('form', ['paper', 'public'])
@pytest.mark.parametrize('margin', [2.0, 10.0])
def test_matches_direct_computation(form, margin):
    feats, labels, protos, valid = _case()
    loss_fn = PrototypeClusteringLoss(margin=margin, form=form, public_hinge_margin=margin / 2,
                                      loss_weight=0.1)
    out = loss_fn(feats, labels, protos, valid)
    expected = _direct(feats, labels, protos, valid, form, margin=margin, hinge=margin / 2)
    assert out['loss_cluster'].item() == pytest.approx(0.1 * expected, rel=1e-9)
    assert out['cluster_rois'].item() == 6  # the feature of class 2 (no prototype) is left out


def test_both_hinge_branches_are_exercised():
    # the test case must have pairs on both sides of the margin, or it could not catch a wrong sign
    feats, labels, protos, valid = _case()
    dist = torch.cdist(feats.float(), protos.float())
    assert (dist < 10).any() and (dist > 2).any()


def test_gradient_is_finite_when_a_feature_sits_on_its_prototype():
    protos = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    feats = torch.tensor([[0.0, 0.0], [1.0, 1.0]], requires_grad=True)
    out = PrototypeClusteringLoss(margin=10.0)(feats, torch.tensor([0, 1]), protos,
                                               torch.tensor([True, True]))
    out['loss_cluster'].backward()
    assert torch.isfinite(feats.grad).all()
    # feature 0: own distance 0, other distance 5 -> hinge 10 - 5 = 5;
    # feature 1: own sqrt(4 + 9), other sqrt(2) -> hinge 10 - sqrt(2)
    expected = 0.1 * (5 + math.sqrt(13) + 10 - math.sqrt(2)) / 2
    assert out['loss_cluster'].item() == pytest.approx(expected, rel=1e-6)


def test_no_valid_prototype_gives_zero_with_gradient_path():
    feats = torch.randn(3, 4, requires_grad=True)
    out = PrototypeClusteringLoss()(feats, torch.tensor([0, 1, 1]), torch.zeros(2, 4),
                                    torch.tensor([False, False]))
    assert out['loss_cluster'].item() == 0.0 and out['loss_cluster'].requires_grad
    out['loss_cluster'].backward()
    assert torch.equal(feats.grad, torch.zeros_like(feats))


def test_empty_batch_gives_zero():
    out = PrototypeClusteringLoss()(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long),
                                    torch.ones(2, 4), torch.tensor([True, True]))
    assert out['loss_cluster'].item() == 0.0


@pytest.mark.parametrize('kwargs, message', [
    (dict(form='cosine'), 'form'), (dict(margin=0.0), 'margin'), (dict(loss_name='cluster'), 'loss_')])
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PrototypeClusteringLoss(**kwargs)


def test_bad_inputs_raise():
    loss_fn = PrototypeClusteringLoss()
    protos, valid = torch.zeros(2, 4), torch.tensor([True, True])
    with pytest.raises(ValueError, match='labels must lie'):
        loss_fn(torch.zeros(1, 4), torch.tensor([2]), protos, valid)
    with pytest.raises(ValueError, match='prototypes'):
        loss_fn(torch.zeros(1, 3), torch.tensor([0]), protos, valid)
    with pytest.raises(ValueError, match='valid'):
        loss_fn(torch.zeros(1, 4), torch.tensor([0]), protos, torch.tensor([1, 1]))


def test_registered_in_root_and_built_from_mmdet():
    from mmdet.registry import MODELS as MMDET_MODELS
    from mmengine.registry import MODELS as ROOT_MODELS

    assert ROOT_MODELS.get('PrototypeClusteringLoss') is PrototypeClusteringLoss
    loss = MMDET_MODELS.build(dict(type='PrototypeClusteringLoss', form='public'))
    assert isinstance(loss, PrototypeClusteringLoss) and loss.form == 'public'
