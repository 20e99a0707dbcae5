"""Every CPU-sized config under configs/ (an ``<N>it`` schedule in its name) trains two iterations
with the default set-up (mmcv-lite + cl_dense's mmcv._ext on the CPU): model, data pipeline,
hooks and the mmcv ops the model reaches. Two samples per dataset, no validation; skipped with the
reason when the config's data folder is absent."""
import math
import re
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.realdata

CONFIG_ROOT = PROJECT_ROOT / 'configs'
CPU_CONFIGS = sorted(p for p in CONFIG_ROOT.rglob('*.py')
                     if '_base_' not in p.parts and re.search(r'_\d+xb\d+-\d+it[_-]', p.name))


def _absolute(root: str) -> Path:
    path = Path(root)
    return path if path.is_absolute() else PROJECT_ROOT / path


def _drop_missing_pretrained(node) -> None:
    """Random init where a ``Pretrained`` checkpoint is a file that another run writes (the
    transfer configs load an export of a pretraining run): training, not loading, is tested."""
    if isinstance(node, dict):
        init = node.get('init_cfg')
        if isinstance(init, dict) and init.get('type') == 'Pretrained' and \
                not _absolute(init.get('checkpoint', '')).is_file():
            node['init_cfg'] = None
        for value in node.values():
            _drop_missing_pretrained(value)
    elif isinstance(node, list):
        for value in node:
            _drop_missing_pretrained(value)


def _two_iteration_config(path: Path, work_dir: Path) -> Config:
    cfg = Config.fromfile(str(path))
    dataset = cfg.train_dataloader.dataset
    while 'dataset' in dataset and 'data_root' not in dataset:  # wrappers (RepeatDataset...)
        dataset = dataset.dataset
    root = dataset.get('data_root')
    if dataset.get('type') == 'SyntheticShapesDataset':  # generated on first use: a small one
        root = str(work_dir / 'shapes')
        dataset.num_images = 4
    elif root and not _absolute(root).exists():
        pytest.skip(f'{_absolute(root)} is absent')
    if root:
        dataset.data_root = str(_absolute(root))
    dataset.indices = 2
    cfg.train_dataloader.update(batch_size=2, num_workers=0, persistent_workers=False)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2, val_interval=10**6)
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator', 'test_dataloader', 'test_cfg',
                'test_evaluator'):
        cfg[key] = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=10**6)
    cfg.load_from, cfg.resume, cfg.work_dir = None, False, str(work_dir)
    _drop_missing_pretrained(cfg.model)
    return cfg


def test_cpu_configs_were_found():
    assert len(CPU_CONFIGS) >= 20, [p.name for p in CPU_CONFIGS]


@pytest.mark.parametrize('path', CPU_CONFIGS, ids=lambda p: str(p.relative_to(CONFIG_ROOT)))
def test_cpu_config_trains_two_iterations(path: Path, tmp_path, monkeypatch):
    monkeypatch.chdir(PROJECT_ROOT)
    runner = Runner.from_cfg(_two_iteration_config(path, tmp_path))
    losses = []

    class Record(Hook):
        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            losses.append(float(outputs['loss']))

    runner.register_hook(Record(), 'LOWEST')
    runner.train()
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses), losses
