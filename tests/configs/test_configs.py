"""Every config in configs/ loads with mmengine and builds its model (and, when the dataset's
files are present, its datasets). Nothing is downloaded: building a model does not load weights."""
from pathlib import Path

import pytest
from mmengine import Config
from mmengine.registry import DATASETS, MODELS, init_default_scope
from mmengine.utils import import_modules_from_strings

from tests.conftest import PROJECT_ROOT

CONFIG_ROOT = PROJECT_ROOT / 'configs'
CONFIGS = sorted(p for p in CONFIG_ROOT.rglob('*.py')
                 if '_base_' not in p.relative_to(CONFIG_ROOT).parts)


def _config_id(path: Path) -> str:
    return str(path.relative_to(CONFIG_ROOT))


def _data_root(cfg: Config, loader: str):
    """The dataset's data_root resolved against the project root; None when it is absent."""
    dataset = (cfg.get(loader) or {}).get('dataset', {})  # None: no such loop (stage-1 configs)
    root = dataset.get('data_root')
    if not root:
        return None
    path = Path(root) if Path(root).is_absolute() else PROJECT_ROOT / root
    return path if path.is_dir() else None


def test_configs_were_found():
    assert len(CONFIGS) >= 10, f'found only {len(CONFIGS)} configs under {CONFIG_ROOT}'


@pytest.mark.parametrize('config', CONFIGS, ids=_config_id)
def test_config_loads_and_builds(config: Path):
    cfg = Config.fromfile(str(config))
    assert 'model' in cfg and 'train_dataloader' in cfg, f'{config}: no model or train_dataloader'
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    if 'custom_imports' in cfg:
        import_modules_from_strings(**cfg.custom_imports)
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0
    for loader in ('train_dataloader', 'val_dataloader'):
        root = _data_root(cfg, loader)
        if root is not None:
            dataset_cfg = cfg[loader].dataset.copy()
            dataset_cfg.data_root = str(root)
            assert len(DATASETS.build(dataset_cfg)) > 0
