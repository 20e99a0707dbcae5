"""Build and run the tiny test config in-process with mmengine's Runner."""
from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
from pathlib import Path

import torch

from mmengine.config import Config
from mmengine.runner import Runner

import cl_dense.seg  # noqa: F401  (registers the synthetic dataset)

from ..conftest import PROJECT_ROOT

TINY_CONFIG = PROJECT_ROOT / 'tests/fixtures/configs/tiny_fcn_synthetic-shapes-32x32.py'
_run_ids = itertools.count()


def tiny_seg_config(work_dir: Path, data_root: Path, max_iters: int = 4, ckpt_interval: int = 2,
                    config: Path = TINY_CONFIG) -> Config:
    """The tiny synthetic-shapes config writing to ``work_dir``, with its data in ``data_root``."""
    cfg = Config.fromfile(str(config))
    cfg.work_dir = str(work_dir)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = str(data_root)
    cfg.train_cfg.max_iters = max_iters
    cfg.train_cfg.val_interval = max_iters
    cfg.default_hooks.checkpoint.interval = ckpt_interval
    cfg.param_scheduler[0].end = max_iters
    cfg.default_hooks.logger.interval = max_iters
    # unique names: mmengine keys its global MessageHub / DefaultScope instances by experiment
    cfg.experiment_name = f'{Path(work_dir).name}_{next(_run_ids)}'
    return cfg


def train_tiny(cfg: Config) -> Runner:
    """Train ``cfg`` to its ``max_iters``; returns the finished Runner."""
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now (for torchrun's rendezvous)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def dist_train_two_ranks(config: Path, tmp_path: Path, options: list[str],
                         loaders: tuple[str, ...] = ('train_dataloader', 'val_dataloader',
                                                     'test_dataloader')) -> tuple[list[dict], str]:
    """Run ``tools/dist_train.sh config 2`` (gloo on the CPU) with the data of ``loaders`` in
    ``tmp_path/data``.

    ``config`` must add ``DumpRankStateHook`` (tests/fixtures/rank_state_hook.py).

    Returns:
        The two ranks' saved ``{'state_dict', 'parameters'}`` dicts and the run's log.
    """
    data_root = tmp_path / 'data'
    data_options = [f'{loader}.dataset.data_root={data_root}'
                    for loader in loaders]
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()))
    proc = subprocess.run(
        ['bash', str(PROJECT_ROOT / 'tools/dist_train.sh'), str(config), '2',
         '--work-dir', str(tmp_path / 'work'), '--cfg-options', *options, *data_options],
        capture_output=True, text=True, env=env, cwd=PROJECT_ROOT, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    ranks = [torch.load(tmp_path / 'work' / f'rank{r}_final.pth', weights_only=True) for r in range(2)]
    return ranks, log
