"""InfoNCE against a queue equals the hand-written logits + cross-entropy formula."""
import pytest
import torch
import torch.nn.functional as F

from cl_dense.losses import InfoNCELoss, info_nce


def _unit(*shape, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(*shape, generator=gen, dtype=torch.float64), dim=-1)


def hand_info_nce(q, k, queue, t):
    """Logits [N, N + K]: column i is the positive of row i, the other columns negatives."""
    logits = torch.cat([q @ k.T, q @ queue.T], dim=1) / t
    return F.cross_entropy(logits, torch.arange(q.shape[0]))


def moco_info_nce(q, k, queue, t):
    """MoCo v1/v2's exact form: [positive, queue] logits, label 0."""
    logits = torch.cat([(q * k).sum(1, keepdim=True), q @ queue.T], dim=1) / t
    return F.cross_entropy(logits, torch.zeros(q.shape[0], dtype=torch.long))


@pytest.mark.parametrize('num,queue_len', [(5, 13), (3, 0), (1, 7)])
def test_loss_and_gradients_equal_hand_written_infonce(num, queue_len):
    q = _unit(num, 8, seed=1).requires_grad_()
    k = _unit(num, 8, seed=2).requires_grad_()
    queue = _unit(queue_len, 8, seed=3)
    got = info_nce(q, k, queue, 0.2, chunk_size=4)
    q2, k2 = q.detach().clone().requires_grad_(), k.detach().clone().requires_grad_()
    want = hand_info_nce(q2, k2, queue, 0.2)
    torch.testing.assert_close(got, want)
    got.backward()
    want.backward()
    torch.testing.assert_close(q.grad, q2.grad)
    torch.testing.assert_close(k.grad, k2.grad)


def test_single_query_is_exactly_moco():
    q, k, queue = _unit(1, 6, seed=4), _unit(1, 6, seed=5), _unit(20, 6, seed=6)
    torch.testing.assert_close(info_nce(q, k, queue, 0.07), moco_info_nce(q, k, queue, 0.07))


def test_module_weight_and_float32_inputs():
    q, k, queue = (_unit(4, 8, seed=s).float() for s in (7, 8, 9))
    loss = InfoNCELoss(temperature=0.5, loss_weight=0.3)(q, k, queue)
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, 0.3 * hand_info_nce(q.double(), k.double(), queue.double(),
                                                         0.5).float())


def test_empty_batch_gives_zero_with_gradient_path():
    q = torch.zeros(0, 4, requires_grad=True)
    loss = info_nce(q, torch.zeros(0, 4), torch.zeros(3, 4), 0.2)
    assert loss.item() == 0.0
    loss.backward()
    assert q.grad is not None and q.grad.shape == (0, 4)


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match='query and key'):
        info_nce(_unit(3, 4), _unit(2, 4), None, 0.2)
    with pytest.raises(ValueError, match='negatives'):
        info_nce(_unit(3, 4), _unit(3, 4), _unit(5, 6), 0.2)
    with pytest.raises(ValueError, match='temperature'):
        InfoNCELoss(temperature=0)
