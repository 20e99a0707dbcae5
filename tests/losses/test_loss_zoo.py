"""The metric-learning losses and SupCon / NT-Xent against direct loop formulas, empty and
degenerate cases, bad input, half precision and registration."""
import math

import pytest
import torch
import torch.nn.functional as F

from cl_dense.losses import (ContrastivePairLoss, LogisticPairLoss, NPairLoss, NTXentLoss,
                             SupConLoss, TripletMarginLoss)

IGNORE = 255


def batch(seed: int, num: int = 10, dim: int = 6, classes: int = 3):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(num, dim, generator=gen, dtype=torch.float64)
    labels = torch.randint(0, classes, (num,), generator=gen)
    labels[0] = IGNORE
    return x, labels


def dist(a, b):
    return (a - b).norm().item()


def valid_rows(labels):
    return [i for i in range(len(labels)) if labels[i] != IGNORE]


def contrastive_reference(x, labels, margin):
    rows, terms = valid_rows(labels), []
    for a in range(len(rows)):
        for b in range(a + 1, len(rows)):
            i, j = rows[a], rows[b]
            d = dist(x[i], x[j])
            terms.append(d ** 2 if labels[i] == labels[j] else max(0.0, margin - d) ** 2)
    return sum(terms) / len(terms)


def triplets(labels):
    rows = valid_rows(labels)
    for a in rows:
        for p in rows:
            if p == a or labels[p] != labels[a]:
                continue
            yield a, p, [n for n in rows if labels[n] != labels[a]]


def triplet_reference(x, labels, margin, mining):
    terms = []
    if mining == 'all':
        for a, p, negatives in triplets(labels):
            terms += [max(0.0, dist(x[a], x[p]) - dist(x[a], x[n]) + margin) for n in negatives]
    elif mining == 'batch_hard':
        for a in valid_rows(labels):
            pos = [dist(x[a], x[p]) for a_, p, _ in triplets(labels) if a_ == a]
            neg = [dist(x[a], x[n]) for n in valid_rows(labels) if labels[n] != labels[a]]
            if pos and neg:
                terms.append(max(0.0, max(pos) - min(neg) + margin))
    else:  # semi_hard, FaceNet / tf-addons definition
        for a, p, negatives in triplets(labels):
            if not negatives:
                continue
            d_ap = dist(x[a], x[p])
            d_an = [dist(x[a], x[n]) for n in negatives]
            farther = [d for d in d_an if d > d_ap]
            chosen = min(farther) if farther else max(d_an)
            terms.append(max(0.0, d_ap - chosen + margin))
    return sum(terms) / len(terms)


def test_contrastive_pairs_match_the_loop():
    x, labels = batch(0)
    loss = ContrastivePairLoss(margin=2.5, loss_weight=2.0)(x, labels)
    assert loss.item() == pytest.approx(2.0 * contrastive_reference(x, labels, 2.5), rel=1e-10)


@pytest.mark.parametrize('mining', ['all', 'batch_hard', 'semi_hard'])
@pytest.mark.parametrize('seed', [1, 2])
def test_triplets_match_the_loop(mining, seed):
    x, labels = batch(seed, num=12)
    loss = TripletMarginLoss(margin=0.7, mining=mining)(x, labels)
    assert loss.item() == pytest.approx(triplet_reference(x, labels, 0.7, mining), rel=1e-10)


def test_semi_hard_on_a_hand_built_line():
    """Points on a line: anchor 0 at 0, its positive at 1; negatives at 0.5 and 3.

    Semi-hard picks the nearest negative farther than the positive (3): max(0, 1 - 3 + 2.5) = 0.5
    for the pair (0, 1); for the pair (1, 0) the anchor at 1 has negatives at 0.5 and 2 away:
    the farther one is 2, max(0, 1 - 2 + 2.5) = 1.5. Mean 1.0.
    """
    x = torch.tensor([[0.0], [1.0], [0.5], [3.0]], dtype=torch.float64)
    labels = torch.tensor([0, 0, 1, 1])
    loss = TripletMarginLoss(margin=2.5, mining='semi_hard')(x, labels)
    # pairs (2, 3) and (3, 2) of class 1 count too: anchor 0.5, positive 3 (d 2.5): negatives at
    # 0.5 and 0.5 away, none farther -> the farthest (0.5): 2.5 - 0.5 + 2.5 = 4.5; anchor 3,
    # positive 0.5 (d 2.5): negatives 3 and 2 away, farther: 3 -> 2.5 - 3 + 2.5 = 2.0
    assert loss.item() == pytest.approx((0.5 + 1.5 + 4.5 + 2.0) / 4)


def test_n_pair_matches_the_softmax_formula():
    gen = torch.Generator().manual_seed(3)
    f = torch.randn(6, 5, generator=gen, dtype=torch.float64)
    g = torch.randn(6, 5, generator=gen, dtype=torch.float64)
    expected = 0.0
    for i in range(6):
        expected += math.log(1 + sum(math.exp((f[i] @ g[j] - f[i] @ g[i]).item())
                                     for j in range(6) if j != i))
    expected /= 6
    reg = 0.01 * ((f ** 2).sum(1) + (g ** 2).sum(1)).mean().item()
    assert NPairLoss()(f, g).item() == pytest.approx(expected, rel=1e-9)
    assert NPairLoss(l2_reg=0.01)(f, g).item() == pytest.approx(expected + reg, rel=1e-9)


def test_n_pair_ids_are_never_the_ignore_index():
    """Pair ids run past 255: none of them may be taken for the ignore index."""
    gen = torch.Generator().manual_seed(4)
    f, g = torch.randn(300, 4, generator=gen), torch.randn(300, 4, generator=gen)
    full = NPairLoss()(f, g)
    logits = f @ g.T
    expected = F.cross_entropy(logits, torch.arange(300))
    assert full.item() == pytest.approx(expected.item(), rel=1e-5)


def test_logistic_pairs_match_the_loop():
    x, labels = batch(5)
    unit = F.normalize(x, dim=1)
    rows = valid_rows(labels)
    pos, neg = [], []
    for i in rows:
        for j in rows:
            if i == j:
                continue
            s = (unit[i] @ unit[j]).item()
            y = 1 if labels[i] == labels[j] else -1
            (pos if y == 1 else neg).append(math.log1p(math.exp(-2.0 * y * (s - 0.5))))
    expected = sum(pos) / len(pos) + sum(neg) / len(neg)
    assert LogisticPairLoss()(x, labels).item() == pytest.approx(expected, rel=1e-10)


def supcon_reference(features, labels, t, t_b):
    num, views, _ = features.shape
    z = F.normalize(features, dim=-1).transpose(0, 1).reshape(num * views, -1)
    lab = labels.repeat(views)
    losses = []
    for i in range(num * views):
        if lab[i] == IGNORE:
            continue
        others = [k for k in range(num * views) if k != i and lab[k] != IGNORE]
        positives = [k for k in others if lab[k] == lab[i]]
        if not positives:
            continue
        log_den = torch.logsumexp(torch.stack([z[i] @ z[k] / t for k in others]), 0)
        losses.append(-(t / t_b) * sum((z[i] @ z[p] / t - log_den).item()
                                       for p in positives) / len(positives))
    return sum(losses) / len(losses)


def test_supcon_matches_the_loop():
    gen = torch.Generator().manual_seed(6)
    features = torch.randn(7, 2, 5, generator=gen, dtype=torch.float64)
    labels = torch.tensor([0, 1, 1, 2, IGNORE, 0, 2])
    loss = SupConLoss(temperature=0.2, base_temperature=0.07)(features, labels)
    assert loss.item() == pytest.approx(supcon_reference(features, labels, 0.2, 0.07), rel=1e-9)


def test_nt_xent_is_simclr_cross_entropy():
    """NT-Xent for 2 views: for view i the logits against the 2N - 1 other views, target the
    sample's other view; 300 samples (ids past 255 are not ignored)."""
    gen = torch.Generator().manual_seed(7)
    features = torch.randn(300, 2, 8, generator=gen, dtype=torch.float64)
    z = F.normalize(features, dim=-1).transpose(0, 1).reshape(600, 8)
    logits = z @ z.T / 0.5
    logits.fill_diagonal_(-float('inf'))
    target = torch.arange(600).roll(300)
    expected = F.cross_entropy(logits, target)
    assert NTXentLoss(temperature=0.5)(features).item() == pytest.approx(expected.item(),
                                                                          rel=1e-9)
    with pytest.raises(ValueError, match='no labels'):
        NTXentLoss()(features, torch.zeros(300, dtype=torch.int64))


LABELLED = [ContrastivePairLoss(), TripletMarginLoss(mining='all'),
            TripletMarginLoss(mining='batch_hard'), TripletMarginLoss(mining='semi_hard'),
            LogisticPairLoss()]


@pytest.mark.parametrize('loss_fn', LABELLED, ids=lambda m: f'{type(m).__name__}-'
                         f'{getattr(m, "mining", "")}')
@pytest.mark.parametrize('labels', [[0, 0, 0, 0], [IGNORE] * 4, [0, IGNORE, IGNORE, IGNORE],
                                    [0, 1, 2, 3]],
                         ids=['one_class', 'all_ignored', 'one_valid', 'all_distinct'])
def test_degenerate_batches_give_zero_or_finite_with_a_gradient(loss_fn, labels):
    x = torch.randn(4, 3, requires_grad=True)
    labels = torch.tensor(labels)
    loss = loss_fn(x, labels)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(x.grad).all()
    if isinstance(loss_fn, TripletMarginLoss):
        assert loss.item() == 0.0  # none of these batches has a valid triplet
    if labels.eq(IGNORE).sum() >= 3:
        assert loss.item() == 0.0 and not x.grad.any()


def test_identical_embeddings_have_finite_gradients():
    x = torch.ones(4, 3, requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1])
    for loss_fn in LABELLED:
        x.grad = None
        loss_fn(x, labels).backward()
        assert torch.isfinite(x.grad).all(), type(loss_fn).__name__


def test_supcon_without_positives_is_zero_with_a_gradient():
    features = torch.randn(3, 1, 4, requires_grad=True)
    loss = SupConLoss()(features, torch.tensor([0, 1, 2]))
    loss.backward()
    assert loss.item() == 0.0 and torch.isfinite(features.grad).all()


def test_bad_input_raises_naming_the_problem():
    x, labels = batch(8)
    with pytest.raises(ValueError, match='NaN'):
        TripletMarginLoss()(x.clone().fill_(float('nan')), labels)
    with pytest.raises(ValueError, match='labels must have shape'):
        ContrastivePairLoss()(x, labels[:3])
    with pytest.raises(ValueError, match='mining'):
        TripletMarginLoss(mining='hardest')
    with pytest.raises(ValueError, match=r'\[N, V, D\]'):
        SupConLoss()(x, labels)
    with pytest.raises(ValueError, match='one shape'):
        NPairLoss()(x, x[:4])


def test_half_precision_inputs_compute_in_float32():
    x, labels = batch(9, num=16)
    x = x.float()
    for loss_fn in LABELLED + [SupConLoss()]:
        inputs = (x.view(8, 2, -1), labels[:8]) if isinstance(loss_fn, SupConLoss) else (x, labels)
        expected = loss_fn(*inputs)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            got = loss_fn(inputs[0].bfloat16(), inputs[1])
        assert got.dtype == torch.float32
        assert got.item() == pytest.approx(expected.item(), rel=2e-2, abs=1e-3)


@pytest.mark.parametrize('name', ['ContrastivePairLoss', 'TripletMarginLoss', 'NPairLoss',
                                  'LogisticPairLoss', 'SupConLoss', 'NTXentLoss'])
def test_built_from_the_mmseg_and_mmdet_registries(name):
    from mmdet.registry import MODELS as MMDET_MODELS
    from mmseg.registry import MODELS as MMSEG_MODELS

    for registry in (MMSEG_MODELS, MMDET_MODELS):
        assert type(registry.build(dict(type=name))).__name__ == name
