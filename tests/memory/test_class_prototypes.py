"""ClassPrototypes: initialisation at start_iter, momentum updates, detached store, state dict."""
import pytest
import torch

from cl_dense.memory import ClassPrototypes


def test_schedule_initialises_then_applies_momentum():
    protos = ClassPrototypes(num_classes=3, dim=2, items_per_class=2, start_iter=1,
                             update_mu_iter=2, momentum=0.9)
    protos.push(torch.tensor([[1.0, 0.0], [3.0, 0.0]]), torch.tensor([0, 0]))
    assert protos.step() is False                      # call 0 < start_iter
    assert not protos.valid.any()
    assert protos.step() is True                       # call 1 == start_iter: store means
    assert protos.valid.tolist() == [True, False, False]
    assert protos.prototypes[0].tolist() == [2.0, 0.0]
    # ring buffer of 2: [1, 3] -> [5, 3] (oldest overwritten); class 2 appears for the first time
    protos.push(torch.tensor([[5.0, 0.0], [0.0, 4.0]]), torch.tensor([0, 2]))
    assert protos.step() is True                       # call 2: (2 - 1) % 2 != 0, no update
    assert protos.prototypes[0].tolist() == [2.0, 0.0]
    assert protos.prototypes[2].tolist() == [0.0, 4.0]  # a new class: the mean, at once
    assert protos.valid.tolist() == [True, False, True]
    protos.push(torch.tensor([[0.0, 6.0]]), torch.tensor([2]))
    protos.step()                                      # call 3: momentum update of both
    assert protos.prototypes[0].tolist() == pytest.approx([0.9 * 2.0 + 0.1 * 4.0, 0.0])
    assert protos.prototypes[2].tolist() == pytest.approx([0.0, 0.9 * 4.0 + 0.1 * 5.0])
    assert protos.valid.tolist() == [True, False, True]
    assert protos.prototypes[1].tolist() == [0.0, 0.0]
    assert int(protos.iter) == 4


def test_store_gets_detached_features():
    protos = ClassPrototypes(num_classes=2, dim=3, items_per_class=4)
    feats = torch.randn(3, 3, requires_grad=True)
    protos.push(feats * 2, torch.tensor([1, 1, 0]))
    stored, labels = protos.store.keys()
    assert not stored.requires_grad and stored.grad_fn is None
    assert torch.equal(stored[labels == 1], (feats[:2] * 2).detach())


def test_state_dict_round_trip_is_bit_exact():
    a = ClassPrototypes(num_classes=2, dim=3, items_per_class=2, start_iter=0, update_mu_iter=1)
    for _ in range(3):
        a.push(torch.randn(4, 3), torch.tensor([0, 1, 1, 0]))
        a.step()
    b = ClassPrototypes(num_classes=2, dim=3, items_per_class=2, start_iter=0, update_mu_iter=1)
    b.load_state_dict(a.state_dict())
    assert set(a.state_dict()) == {'store.feats', 'store.ptr', 'store.count', 'prototypes', 'valid',
                                   'iter'}
    for name, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[name]), name
    feats, labels = torch.randn(2, 3), torch.tensor([1, 0])
    for proto in (a, b):
        proto.push(feats, labels)
        proto.step()
    assert torch.equal(a.prototypes, b.prototypes)


@pytest.mark.parametrize('kwargs', [dict(start_iter=-1), dict(update_mu_iter=0), dict(momentum=1.5)])
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        ClassPrototypes(num_classes=2, dim=2, **kwargs)
