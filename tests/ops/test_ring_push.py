"""class_ring_push: ring semantics against the row-by-row reference, and input errors."""
import pytest
import torch

from cl_dense.ops import class_ring_push
from cl_dense.ops.reference import class_ring_push_reference

IGNORE = 255


def empty_bank(num_classes: int = 3, size: int = 4, dim: int = 2):
    return (torch.zeros(num_classes, size, dim), torch.zeros(num_classes, dtype=torch.int64),
            torch.zeros(num_classes, dtype=torch.int64))


def rows(*values: float) -> torch.Tensor:
    """Row r is (v_r, -v_r) so every row is recognisable."""
    v = torch.tensor(values, dtype=torch.float32)
    return torch.stack([v, -v], 1)


def test_wraps_overwriting_the_oldest_and_advances_by_the_number_written():
    bank, ptr, count = empty_bank()
    class_ring_push(bank, ptr, count, rows(1, 2, 3), torch.tensor([0, 0, 0]))
    assert ptr.tolist() == [3, 0, 0] and count.tolist() == [3, 0, 0]
    class_ring_push(bank, ptr, count, rows(4, 5, 6), torch.tensor([0, 0, 0]))
    # slots after 1..6 written in order into 4 slots: [5, 6, 3, 4]; 1 and 2 (the oldest) are gone
    assert bank[0, :, 0].tolist() == [5, 6, 3, 4]
    assert ptr.tolist() == [2, 0, 0] and count.tolist() == [4, 0, 0]


def test_more_than_size_rows_in_one_push_keeps_the_last_size():
    bank, ptr, count = empty_bank()
    ptr[1] = 1
    class_ring_push(bank, ptr, count, rows(*range(1, 8)), torch.full((7,), 1))
    # 7 rows from slot 1: rows 1..3 are overwritten by 5..7; final slots [4, 5, 6, 7] rotated
    assert bank[1, :, 0].tolist() == [4, 5, 6, 7]
    assert ptr.tolist() == [0, (1 + 7) % 4, 0] and count.tolist() == [0, 4, 0]
    assert bank[[0, 2]].abs().sum() == 0


def test_interleaved_classes_keep_arrival_order_and_skip_ignored():
    bank, ptr, count = empty_bank()
    class_ring_push(bank, ptr, count, rows(1, 2, 3, 4, 5), torch.tensor([2, 0, IGNORE, 2, 0]))
    assert bank[0, :2, 0].tolist() == [2, 5] and bank[2, :2, 0].tolist() == [1, 4]
    assert count.tolist() == [2, 0, 2] and ptr.tolist() == [2, 0, 2]
    assert bank[1].abs().sum() == 0


@pytest.mark.parametrize('seed', range(6))
def test_random_pushes_match_the_row_by_row_reference(seed):
    gen = torch.Generator().manual_seed(seed)
    bank, ptr, count = empty_bank(num_classes=4, size=5, dim=3)
    ref = tuple(t.clone() for t in (bank, ptr, count))
    for _ in range(5):
        n = int(torch.randint(0, 14, (), generator=gen))
        feats = torch.randn(n, 3, generator=gen)
        labels = torch.randint(0, 5, (n,), generator=gen)
        labels[labels == 4] = IGNORE
        class_ring_push(bank, ptr, count, feats, labels)
        class_ring_push_reference(*ref, feats, labels)
        for got, expected in zip((bank, ptr, count), ref):
            assert torch.equal(got, expected)


def test_custom_ignore_index_and_opcheck():
    bank, ptr, count = empty_bank()
    feats, labels = rows(1, 2, 3), torch.tensor([-1, 1, -1])
    class_ring_push(bank, ptr, count, feats, labels, ignore_index=-1)
    assert count.tolist() == [0, 1, 0] and bank[1, 0, 0] == 2
    torch.library.opcheck(torch.ops.cl_dense.class_ring_push.default,
                          (bank, ptr, count, feats, labels, -1))


def bad_pushes():
    yield 'bank', dict(bank=torch.zeros(3, 4))
    yield 'feats', dict(feats=torch.zeros(2, 5))
    yield 'labels', dict(labels=torch.tensor([0]))
    yield 'labels', dict(labels=torch.tensor([0, 3]))
    yield 'labels', dict(labels=torch.tensor([-2, 0]))
    yield 'labels', dict(labels=torch.tensor([0, 1], dtype=torch.int32))
    yield 'ptr', dict(ptr=torch.zeros(2, dtype=torch.int64))
    yield 'dtype', dict(feats=torch.zeros(2, 2, dtype=torch.float64))
    yield 'device', dict(feats=torch.zeros(2, 2, device='meta'))
    yield 'feats', dict(feats=torch.tensor([[0.0, float('nan')], [1.0, 1.0]]))


@pytest.mark.parametrize('name,change', list(bad_pushes()),
                         ids=[f'{n}-{i}' for i, (n, _) in enumerate(bad_pushes())])
def test_bad_input_raises_value_error_naming_the_argument(name, change):
    bank, ptr, count = empty_bank()
    kwargs = dict(bank=bank, ptr=ptr, count=count, feats=rows(1, 2), labels=torch.tensor([0, 1]))
    kwargs.update(change)
    with pytest.raises(ValueError, match=name):
        class_ring_push(**kwargs)
    assert count.sum() == 0
