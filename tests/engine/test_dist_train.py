"""tools/dist_train.sh trains on 2 CPU processes (gloo) and the ranks end with identical weights."""
import pytest
import torch

from ..conftest import PROJECT_ROOT
from .runner_utils import dist_train_two_ranks

pytestmark = pytest.mark.dist


def test_two_process_cpu_training_keeps_ranks_identical(tmp_path):
    config = PROJECT_ROOT / 'tests/fixtures/configs/tiny_fcn_synthetic-shapes-32x32_dump-ranks.py'
    (rank0, rank1), log = dist_train_two_ranks(
        config, tmp_path, ['train_cfg.max_iters=4', 'train_cfg.val_interval=4'])
    assert rank0['parameters'] == rank1['parameters'] and rank0['parameters']
    for name in rank0['parameters']:
        assert torch.equal(rank0['state_dict'][name], rank1['state_dict'][name]), name
    # the run was really distributed (gloo on the CPU, our DDP wrapper) and it trained
    assert 'Distributed training: True' in log and "type='CPUDistributedDataParallel'" in log
    assert (tmp_path / 'work' / 'iter_4.pth').is_file()
