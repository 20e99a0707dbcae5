"""Build and run the tiny test config in-process with mmengine's Runner."""
from __future__ import annotations

import itertools
from pathlib import Path

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
