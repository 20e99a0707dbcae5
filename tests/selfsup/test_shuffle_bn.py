"""Shuffle-BN on 2 gloo processes: each rank's key encoder sees a batch mixed across ranks, and
the outputs come back to their own samples in order."""
import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from cl_dense.selfsup import batch_shuffled

from ..engine.runner_utils import free_port

pytestmark = pytest.mark.dist


def _worker(rank: int, port: int, out_dir: str) -> None:
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=2)
    torch.manual_seed(0)
    mixed = 0
    for step in range(4):
        x = torch.arange(4, dtype=torch.float32).view(4, 1) + 10 * rank + 100 * step
        seen = []

        def fn(batch, seen=seen):
            seen.append(batch.clone())
            return [batch * 2, batch.sum(1)]

        doubled, summed = batch_shuffled(fn, x)
        assert torch.equal(doubled, x * 2) and torch.equal(summed, x.sum(1))
        mixed += int(not torch.equal(seen[0].sort(0).values, x))
    torch.save(mixed, os.path.join(out_dir, f'rank{rank}.pt'))
    if rank == 0:
        with pytest.raises(ValueError, match='same batch size'):
            batch_shuffled(lambda b: [b], torch.zeros(3, 1))
    else:
        with pytest.raises(ValueError, match='same batch size'):
            batch_shuffled(lambda b: [b], torch.zeros(2, 1))
    dist.destroy_process_group()


def test_outputs_return_to_their_samples_and_batches_are_mixed(tmp_path):
    mp.spawn(_worker, args=(free_port(), str(tmp_path)), nprocs=2, join=True)
    mixed = [torch.load(tmp_path / f'rank{r}.pt') for r in range(2)]
    assert sum(mixed) > 0, mixed


def test_single_process_is_the_plain_call():
    x = torch.randn(5, 3)
    assert torch.equal(batch_shuffled(lambda b: [b + 1], x)[0], x + 1)
