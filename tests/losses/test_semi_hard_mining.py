"""Semi-hard mining of bank keys: right sides, hardest candidates, random draw among them."""

import pytest
import torch
import torch.nn.functional as F

from cl_dense.samplers import mine_semi_hard_keys, random_pick_from_top
from cl_dense.samplers.semi_hard import class_extreme_similarities


def _unit(angles):
    angles = torch.tensor(angles, dtype=torch.float32)
    return torch.stack([torch.cos(angles), torch.sin(angles)], 1)


def test_sides_and_ignored_keys():
    gen = torch.Generator().manual_seed(0)
    anchors = F.normalize(torch.randn(6, 8, generator=gen), dim=1)
    anchor_labels = torch.tensor([0, 0, 1, 3, 3, 3])
    keys = F.normalize(torch.randn(60, 8, generator=gen), dim=1)
    key_labels = torch.randint(0, 4, (60,), generator=gen)
    key_labels[::7] = 255
    classes, index, valid = mine_semi_hard_keys(anchors, anchor_labels, keys, key_labels, 3, 5,
                                                0.5, generator=gen)
    assert classes.tolist() == [0, 1, 3]  # class 2 has no anchor: no row
    assert index.shape == valid.shape == (3, 8)
    for row, c in enumerate(classes.tolist()):
        picked = key_labels[index[row][valid[row]]]
        assert (picked[:3] == c).all() and (picked[3:] != c).all()
        assert (picked != 255).all()
        assert index[row][valid[row]].unique().numel() == int(valid[row].sum())


def test_candidates_are_the_hardest_over_the_class_anchors():
    # Two class-0 anchors at angles 0 and 1.0; class-1 keys spread on the circle.
    anchors = _unit([0.0, 1.0])
    key_angles = [0.1, 0.5, 1.2, 2.0, 2.5, 3.0, -0.3, -1.5, 1.9, 0.95]
    keys = _unit(key_angles)
    key_labels = torch.tensor([1, 1, 1, 1, 1, 1, 1, 1, 0, 0])
    # 8 negatives, ratio 3/8 -> 3 candidates, draw 3: exactly the hardest three by the best anchor
    _, index, valid = mine_semi_hard_keys(anchors, torch.tensor([0, 0]), keys, key_labels, 1, 3,
                                          3 / 8)
    negatives = index[0, 1:][valid[0, 1:]].tolist()
    sims = (anchors @ keys.t()).amax(0)
    expected = sorted(range(8), key=lambda j: -float(sims[j]))[:3]
    assert sorted(negatives) == sorted(expected)
    # positives: the farthest from some anchor (lowest similarity) -> key 8 at angle 1.9 vs anchor 0
    positive = index[0, 0]
    assert valid[0, 0] and int(positive) == 8


def test_draw_is_random_among_candidates():
    hardness = torch.arange(10.0)[None].repeat(2, 1)
    eligible = torch.ones(2, 10, dtype=torch.bool)
    eligible[1, 5:] = False
    gen = torch.Generator().manual_seed(0)
    seen = torch.zeros(2, 10)
    for _ in range(200):
        index, valid = random_pick_from_top(hardness, eligible, 0.5, 2, gen)
        assert valid[0].all() and valid[1].all()
        for r in range(2):
            seen[r, index[r]] += 1
    assert set(seen[0].nonzero().squeeze(1).tolist()) == {5, 6, 7, 8, 9}
    assert set(seen[1].nonzero().squeeze(1).tolist()) == {2, 3, 4}  # ceil(0.5 * 5) = 3
    assert (seen[0, 5:] > 40).all()


def test_empty_key_set_and_bad_arguments():
    classes, index, valid = mine_semi_hard_keys(_unit([0.0]), torch.tensor([0]), torch.zeros(0, 2),
                                                torch.zeros(0, dtype=torch.long), 4, 4)
    assert classes.tolist() == [0] and index.shape == (1, 0) and valid.shape == (1, 0)
    with pytest.raises(ValueError, match='candidate_ratio'):
        mine_semi_hard_keys(_unit([0.0]), torch.tensor([0]), _unit([1.0]), torch.tensor([0]), 1, 1,
                            candidate_ratio=0.0)


def test_chunked_extremes_equal_the_full_table():
    gen = torch.Generator().manual_seed(1)
    anchors, keys = torch.randn(9, 4, generator=gen), torch.randn(11, 4, generator=gen)
    rows = torch.tensor([0, 2, 2, 1, 0, 2, 1, 1, 0])
    highest, lowest = class_extreme_similarities(anchors, rows, 4, keys, chunk_size=2)
    sims = anchors @ keys.t()
    for r in range(3):
        assert torch.allclose(highest[r], sims[rows == r].amax(0))
        assert torch.allclose(lowest[r], sims[rows == r].amin(0))
    assert torch.isinf(highest[3]).all() and torch.isinf(lowest[3]).all()


def test_mining_under_bf16_autocast():
    gen = torch.Generator().manual_seed(2)
    anchors = F.normalize(torch.randn(4, 8, generator=gen), dim=1)
    keys = F.normalize(torch.randn(20, 8, generator=gen), dim=1)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        classes, index, valid = mine_semi_hard_keys(anchors, torch.tensor([0, 1, 1, 0]), keys,
                                                    torch.arange(20) % 3, 2, 2, 1.0)
    assert classes.tolist() == [0, 1] and valid.all()
