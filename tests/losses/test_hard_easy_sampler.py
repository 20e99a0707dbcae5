"""ContrastiveSeg hard/easy anchor sampling: counts follow the rule, ignore never sampled."""
from collections import Counter

import pytest
import torch

from cl_dense.samplers import hard_easy_quota, random_ranks_within_groups, sample_hard_easy_anchors

from .reference import hard_easy_counts


def _observed(index, anchor_labels, labels, preds, num_pixels):
    counts = Counter()
    for flat, c in zip(index.tolist(), anchor_labels.tolist()):
        n, p = divmod(flat, num_pixels)
        assert labels[n, p] == c
        hard = preds is not None and bool(preds[n, p] != c)
        counts[(n, c, hard)] += 1
    return {(n, c): (counts[(n, c, True)], counts[(n, c, False)])
            for n, c, _ in counts}


@pytest.mark.parametrize('seed', range(6))
@pytest.mark.parametrize('max_samples,max_views', [(1024, 100), (40, 7), (10, 3), (64, 1)])
def test_counts_follow_rule(seed, max_samples, max_views):
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 4, (3, 150), generator=gen)
    labels[torch.rand(labels.shape, generator=gen) < 0.2] = 255
    labels[1, :120] = 2  # a dominant class
    preds = torch.where(torch.rand(labels.shape, generator=gen) < 0.3,
                        torch.randint(0, 4, labels.shape, generator=gen), labels.clamp(max=3))
    index, anchor_labels = sample_hard_easy_anchors(labels, preds, 4, max_samples, max_views,
                                                    generator=gen)
    expected = hard_easy_counts(labels, preds, max_samples, max_views)
    assert _observed(index, anchor_labels, labels, preds, 150) == {
        k: v for k, v in expected.items() if sum(v) > 0}
    assert index.unique().numel() == index.numel()
    assert (anchor_labels != 255).all()


def test_quota_tops_up_from_the_other_side():
    hard, easy = hard_easy_quota(torch.tensor([10, 1, 9, 0]), torch.tensor([10, 9, 1, 5]), 5)
    assert hard.tolist() == [2, 1, 4, 0]
    assert easy.tolist() == [3, 4, 1, 5]


def test_class_zero_is_a_class_and_ignore_never_sampled():
    labels = torch.tensor([[0] * 6 + [255] * 6])
    index, anchor_labels = sample_hard_easy_anchors(labels, None, 2, 100, 4)
    assert anchor_labels.tolist() == [0] * 4
    assert (index < 6).all()


def test_no_candidate_gives_empty_selection():
    labels = torch.tensor([[1, 1, 255, 255], [255] * 4])
    index, anchor_labels = sample_hard_easy_anchors(labels, None, 3, 100, 2)
    assert index.numel() == 0 and anchor_labels.numel() == 0


def test_labels_out_of_range_raise():
    with pytest.raises(ValueError, match=r'outside \[0, 3\)'):
        sample_hard_easy_anchors(torch.tensor([[0, 3, 1]]), None, 3, 10, 1)


def test_random_ranks_are_permutations_of_each_group():
    group = torch.tensor([2, 0, 2, 2, 1, 0, 2])
    ranks = random_ranks_within_groups(group, 4, torch.Generator().manual_seed(0))
    for g in range(3):
        assert sorted(ranks[group == g].tolist()) == list(range(int((group == g).sum())))


def test_selection_is_uniform_within_a_group():
    labels = torch.zeros(1, 8, dtype=torch.long)
    gen = torch.Generator().manual_seed(1)
    hits = torch.zeros(8)
    for _ in range(400):
        index, _ = sample_hard_easy_anchors(labels, None, 2, 2, 2, generator=gen)
        hits[index] += 1
    assert hits.sum() == 800
    assert (hits > 60).all() and (hits < 140).all()  # expected 100 each
