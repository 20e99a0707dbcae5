"""One CPU iteration of a pool pretraining config (tiny overrides), then its exported backbone
loaded strictly into the backbones of the shared-pool transfer configs (isbi_em, aerial_dubai,
bccd)."""
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope

from tests.conftest import PROJECT_ROOT
from tests.tool_loading import load_tool

from ..engine.runner_utils import train_tiny
from .folder import make_image_folder

TRANSFERS = [PROJECT_ROOT / 'configs/detco/transfer' / name for name in (
    'deeplabv3_r18-tiny-d8_detco-shared-pool_1xb4-200it_isbi-em-256x256.py',
    'deeplabv3_r18-tiny-d8_detco-shared-pool_1xb4-200it_aerial-dubai-256x256.py',
    'faster-rcnn_r18-tiny_fpn_detco-shared-pool_1xb2-300it_bccd.py')]
_runs = iter(range(10 ** 6))


def tiny_pool_config(config: Path, tmp_path: Path, **model) -> Config:
    """``config`` for one iteration on 32 px views of a generated folder, batch 2, no workers,
    with ``model`` overrides (small queues); the backbone keeps its pool size."""
    cfg = Config.fromfile(str(config))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.experiment_name = f'{config.stem}_{next(_runs)}'
    loader = cfg.train_dataloader
    loader.batch_size, loader.num_workers, loader.persistent_workers = 2, 0, False
    loader.dataset.data_root = str(make_image_folder(tmp_path / 'images', count=4))
    loader.dataset.sub_dirs = ['']
    for view in loader.dataset.pipeline[1].views:
        view.pipeline[0].transforms[0].size = 32
    cfg.model.update(model)
    cfg.train_cfg.max_iters = 1
    cfg.param_scheduler[0].end = 1
    cfg.default_hooks.checkpoint.interval = 1
    cfg.default_hooks.logger.interval = 1
    return cfg


def run_one_iteration_and_export(cfg: Config, tmp_path: Path):
    """Train ``cfg`` for its one iteration, export its backbone and load it strictly into each
    transfer config's backbone (equal tensors). Returns the runner."""
    runner = train_tiny(cfg)
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert torch.isfinite(torch.tensor(float(loss)))
    converter = load_tool('model_converters/detco_to_backbone.py')
    backbone = converter.convert(str(Path(cfg.work_dir) / 'iter_1.pth'),
                                 str(tmp_path / 'backbone.pth'))
    trained = runner.model.query_encoder.backbone.state_dict()
    for path in TRANSFERS:
        transfer = Config.fromfile(str(path))
        with DefaultScope.overwrite_default_scope(transfer.default_scope):
            target = MODELS.build(dict(transfer.model.backbone, init_cfg=None))
        result = target.load_state_dict(backbone, strict=True)
        assert not result.missing_keys and not result.unexpected_keys, path.name
        for key, value in trained.items():
            assert torch.equal(target.state_dict()[key], value), (path.name, key)
    return runner
