"""One CPU iteration of an mmpretrain pretraining config (configs/selfsup_zoo) on a tiny image
folder (with tests/engine/runner_utils.train_tiny): views shrunk, batch 2, no
workers (SyncBN runs as BN in one CPU process)."""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from mmengine.config import Config, ConfigDict

_run_ids = itertools.count()


def shrunk(node: Any, sizes: dict[int, int]) -> Any:
    """``node`` (a config or part of one) with every ``RandomResizedCrop`` output size mapped by
    ``sizes`` (e.g. ``{96: 32}``)."""
    if isinstance(node, (list, tuple)):
        return type(node)(shrunk(item, sizes) for item in node)
    if not isinstance(node, dict):
        return node
    out = ConfigDict({key: shrunk(value, sizes) for key, value in node.items()})
    if out.get('type') == 'RandomResizedCrop':
        out.scale = sizes[out.scale]
    return out


def one_iteration_config(config: Path, work_dir: Path, data_root: Path,
                         sizes: dict[int, int]) -> Config:
    """``config`` for one iteration (batch 2, checkpoint saved) on the images in ``data_root``;
    the dataset becomes our UnlabelledImageFolder with the config's own (shrunk) pipeline."""
    cfg = Config.fromfile(str(config))
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'{config.stem}_{next(_run_ids)}'
    cfg.model = shrunk(cfg.model, sizes)
    pipeline = shrunk(cfg.train_dataloader.dataset.pipeline, sizes)
    cfg.train_dataloader = dict(
        batch_size=2, num_workers=0, persistent_workers=False, drop_last=True,
        sampler=dict(type='InfiniteSampler', shuffle=True), collate_fn=dict(type='default_collate'),
        dataset=dict(type='UnlabelledImageFolder', data_root=str(data_root), sub_dirs=[''],
                     check='decode', pipeline=pipeline))
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=1)
    cfg.param_scheduler = []
    cfg.auto_scale_lr = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False, interval=1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.log_processor = dict(by_epoch=False)
    cfg.env_cfg.dist_cfg = dict(backend='gloo')
    return cfg



def one_step(config: Path, data_root: Path, sizes: dict[int, int]) -> tuple[Any, float]:
    """Build ``config``'s model, optimizer and (shrunk) pipeline and take one training step on a
    batch of 2 images from ``data_root``, without a Runner (no hooks, no checkpoint: cheap for
    the R-50 configs). Returns the model and the step's loss. Needs the default scope set."""
    from mmengine.dataset import default_collate
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DATASETS, MODELS

    cfg = one_iteration_config(config, data_root / '_unused', data_root, sizes)
    model = MODELS.build(cfg.model)
    model.init_weights()
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    batch = default_collate([dataset[0], dataset[1]])
    log_vars = model.train_step(batch, build_optim_wrapper(model, cfg.optim_wrapper))
    return model, float(log_vars['loss'])
