"""InfoNCE against a key set (a queue holding the batch's keys) equals the hand-written logits +
cross-entropy formula, and MoCo's own form when there is one query."""
import pytest
import torch
import torch.nn.functional as F

from cl_dense.losses import InfoNCELoss, info_nce
from cl_dense.losses.info_nce import positive_labels


def _unit(*shape, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(*shape, generator=gen, dtype=torch.float64), dim=-1)


def hand_info_nce(q, keys, positives, t):
    """Logits [N, M], target column positives[i] for row i."""
    return F.cross_entropy(q @ keys.T / t, positives)


def moco_info_nce(q, k, queue, t):
    """MoCo v1/v2's exact form: [positive, queue] logits, label 0."""
    logits = torch.cat([(q * k).sum(1, keepdim=True), q @ queue.T], dim=1) / t
    return F.cross_entropy(logits, torch.zeros(q.shape[0], dtype=torch.long))


@pytest.mark.parametrize('positives', [[3, 4, 5, 6, 7], [10, 11, 0, 1, 2], [0, 1, 2, 3, 4],
                                       [12, 3, 7, 0, 5], [8, 9, 10, 11, 12]])
def test_loss_and_gradient_equal_hand_written_infonce(positives):
    positives = torch.tensor(positives)
    q = _unit(5, 8, seed=1).requires_grad_()
    keys = _unit(13, 8, seed=2)
    got = info_nce(q, keys, positives, 0.2, chunk_size=4)
    q2 = q.detach().clone().requires_grad_()
    want = hand_info_nce(q2, keys, positives, 0.2)
    torch.testing.assert_close(got, want)
    got.backward()
    want.backward()
    torch.testing.assert_close(q.grad, q2.grad)


def test_key_gradient_when_keys_require_it():
    q, keys = _unit(3, 6, seed=3), _unit(7, 6, seed=4).requires_grad_()
    positives = torch.tensor([6, 0, 2])
    info_nce(q, keys, positives, 0.5).backward()
    keys2 = keys.detach().clone().requires_grad_()
    hand_info_nce(q, keys2, positives, 0.5).backward()
    torch.testing.assert_close(keys.grad, keys2.grad)


def test_labels_are_sorted_and_only_positives_match_queries():
    query_labels, key_labels = positive_labels(9, torch.tensor([7, 8, 0, 3]))
    assert (key_labels[1:] >= key_labels[:-1]).all()
    for i, slot in enumerate([7, 8, 0, 3]):
        assert (key_labels == query_labels[i]).nonzero().flatten().tolist() == [slot]


def test_single_query_is_exactly_moco():
    q, k, queue = _unit(1, 6, seed=4), _unit(1, 6, seed=5), _unit(20, 6, seed=6)
    keys = torch.cat([queue[:11], k, queue[11:]])  # the key enqueued in the middle of the ring
    torch.testing.assert_close(info_nce(q, keys, torch.tensor([11]), 0.07),
                               moco_info_nce(q, k, queue, 0.07))


def test_module_weight_and_float32():
    q, keys = _unit(4, 8, seed=7).float(), _unit(10, 8, seed=8).float()
    positives = torch.tensor([9, 0, 1, 2])
    loss = InfoNCELoss(temperature=0.5, loss_weight=0.3)(q, keys, positives)
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, 0.3 * hand_info_nce(q, keys, positives, 0.5))


def test_empty_batch_gives_zero_with_gradient_path():
    q = torch.zeros(0, 4, requires_grad=True)
    loss = info_nce(q, _unit(3, 4).float(), torch.zeros(0, dtype=torch.long), 0.2)
    assert loss.item() == 0.0
    loss.backward()
    assert q.grad is not None and q.grad.shape == (0, 4)


def test_bad_inputs_are_named():
    q, keys = _unit(3, 4), _unit(6, 4)
    with pytest.raises(ValueError, match='query must be'):
        info_nce(q, _unit(6, 5), torch.arange(3), 0.2)
    with pytest.raises(ValueError, match='int64'):
        info_nce(q, keys, torch.arange(2), 0.2)
    with pytest.raises(ValueError, match='distinct indices'):
        info_nce(q, keys, torch.tensor([0, 0, 1]), 0.2)
    with pytest.raises(ValueError, match='distinct indices'):
        info_nce(q, keys, torch.tensor([0, 1, 6]), 0.2)
    with pytest.raises(ValueError, match='temperature'):
        InfoNCELoss(temperature=0)
