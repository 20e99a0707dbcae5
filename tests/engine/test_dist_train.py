"""tools/dist_train.sh trains on 2 CPU processes (gloo) and the ranks end with identical weights."""
import os
import socket
import subprocess
import sys

import pytest
import torch

from ..conftest import PROJECT_ROOT

pytestmark = pytest.mark.dist


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_two_process_cpu_training_keeps_ranks_identical(tmp_path):
    config = PROJECT_ROOT / 'tests/fixtures/configs/tiny_fcn_synthetic-shapes-32x32_dump-ranks.py'
    data_root = tmp_path / 'data'
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()))
    proc = subprocess.run(
        ['bash', str(PROJECT_ROOT / 'tools/dist_train.sh'), str(config), '2',
         '--work-dir', str(tmp_path / 'work'), '--cfg-options', 'train_cfg.max_iters=4',
         'train_cfg.val_interval=4', f'train_dataloader.dataset.data_root={data_root}',
         f'val_dataloader.dataset.data_root={data_root}', f'test_dataloader.dataset.data_root={data_root}'],
        capture_output=True, text=True, env=env, cwd=PROJECT_ROOT, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rank0 = torch.load(tmp_path / 'work' / 'rank0_final.pth', weights_only=True)
    rank1 = torch.load(tmp_path / 'work' / 'rank1_final.pth', weights_only=True)
    assert rank0['parameters'] == rank1['parameters'] and rank0['parameters']
    for name in rank0['parameters']:
        assert torch.equal(rank0['state_dict'][name], rank1['state_dict'][name]), name
    # the run was really distributed (gloo on the CPU, our DDP wrapper) and it trained
    log = proc.stdout + proc.stderr
    assert 'Distributed training: True' in log and "type='CPUDistributedDataParallel'" in log
    assert (tmp_path / 'work' / 'iter_4.pth').is_file()
