"""ClassMemoryBank: filled-slot keys, reset, state dict, device moves, distributed push."""
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from cl_dense.memory import ClassMemoryBank
from cl_dense.ops.reference import class_ring_push_reference

IGNORE = 255


def test_keys_are_only_the_filled_slots_with_their_labels():
    bank = ClassMemoryBank(num_classes=3, size=4, dim=2)
    assert bank.keys()[0].shape == (0, 2)
    feats = torch.arange(1.0, 13.0).reshape(6, 2)
    bank.push(feats, torch.tensor([2, 0, 2, IGNORE, 2, 0]))
    keys, labels = bank.keys()
    assert labels.tolist() == [0, 0, 2, 2, 2]
    assert keys.tolist() == [[3, 4], [11, 12], [1, 2], [5, 6], [9, 10]]


def test_push_matches_the_reference_over_many_pushes_and_a_queue_is_one_class():
    gen = torch.Generator().manual_seed(0)
    bank = ClassMemoryBank(num_classes=1, size=7, dim=3)
    ref = (torch.zeros(1, 7, 3), torch.zeros(1, dtype=torch.int64),
           torch.zeros(1, dtype=torch.int64))
    for n in (3, 5, 0, 9, 2):
        feats = torch.randn(n, 3, generator=gen)
        labels = torch.zeros(n, dtype=torch.int64)
        bank.push(feats, labels)
        class_ring_push_reference(*ref, feats, labels)
    assert torch.equal(bank.feats, ref[0]) and torch.equal(bank.ptr, ref[1])
    assert bank.count.tolist() == [7] and bank.keys()[0].shape == (7, 3)


def test_push_detaches_and_casts_to_the_bank_dtype():
    bank = ClassMemoryBank(2, 3, 4)
    feats = torch.randn(2, 4, requires_grad=True)
    bank.push(feats.half(), torch.tensor([0, 1]))
    assert bank.feats.dtype == torch.float32 and not bank.feats.requires_grad
    torch.testing.assert_close(bank.keys()[0], feats.detach().half().float())


def test_reset_and_repr():
    bank = ClassMemoryBank(2, 3, 4)
    bank.push(torch.randn(4, 4), torch.tensor([0, 1, 1, 1]))
    assert 'num_classes=2, size=3, dim=4' in repr(bank) and 'filled=4/6' in repr(bank)
    bank.reset()
    assert bank.count.sum() == 0 and bank.ptr.sum() == 0 and bank.feats.abs().sum() == 0


def test_state_dict_round_trip_is_exact_and_the_bank_moves_with_to(tmp_path):
    bank = ClassMemoryBank(3, 5, 4)
    bank.push(torch.randn(11, 4), torch.tensor([0, 1, 2, 0, 0, 0, 0, 0, 0, 2, IGNORE]))
    assert set(bank.state_dict()) == {'feats', 'ptr', 'count'}
    torch.save(bank.state_dict(), tmp_path / 'bank.pth')
    restored = ClassMemoryBank(3, 5, 4)
    restored.load_state_dict(torch.load(tmp_path / 'bank.pth', weights_only=True))
    for name in ('feats', 'ptr', 'count'):
        assert torch.equal(getattr(restored, name), getattr(bank, name))
    moved = restored.to('meta')
    assert {t.device.type for t in (moved.feats, moved.ptr, moved.count)} == {'meta'}
    assert restored.double().feats.dtype == torch.float64


def test_bad_push_names_the_argument():
    bank = ClassMemoryBank(3, 5, 4)
    with pytest.raises(ValueError, match='labels'):
        bank.push(torch.randn(2, 4), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match='feats'):
        bank.push(torch.randn(2, 5), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match='num_classes'):
        ClassMemoryBank(0, 5, 4)


PUSH_SIZES = ((5, 9), (0, 6), (0, 0), (7, 2))  # rows per rank in each push


def rank_data(rank: int, step: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The rows rank ``rank`` pushes at ``step``: different N per rank, sometimes none."""
    gen = torch.Generator().manual_seed(10 * step + rank)
    n = PUSH_SIZES[step][rank]
    labels = torch.randint(0, 3, (n,), generator=gen)
    labels[:1] = IGNORE
    return torch.randn(n, 4, generator=gen), labels


def _push_on_rank(rank: int, world: int, port: int, out: str) -> None:
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                            world_size=world)
    try:
        bank = ClassMemoryBank(3, 4, 4)
        for step in range(len(PUSH_SIZES)):
            bank.push(*rank_data(rank, step))
        torch.save(bank.state_dict(), f'{out}/rank{rank}.pth')
    finally:
        dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.mark.dist
def test_two_gloo_ranks_end_with_identical_banks_equal_to_the_concatenated_push(tmp_path):
    mp.spawn(_push_on_rank, args=(2, free_port(), str(tmp_path)), nprocs=2, join=True)
    states = [torch.load(tmp_path / f'rank{r}.pth', weights_only=True) for r in range(2)]
    single = ClassMemoryBank(3, 4, 4)
    for step in range(len(PUSH_SIZES)):
        feats, labels = zip(*(rank_data(r, step) for r in range(2)))
        single.push(torch.cat(feats), torch.cat(labels))
    for state in states:
        for name, value in single.state_dict().items():
            assert torch.equal(state[name], value), name
