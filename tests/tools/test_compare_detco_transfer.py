"""compare_detco_transfer.py helpers: the overrides reach every config, and the summary table."""
import argparse
import sys
from pathlib import Path

import pytest
from mmengine.config import Config, DictAction

from tests.tool_loading import load_tool


@pytest.fixture(scope='module')
def compare():
    yield load_tool('analysis_tools/compare_detco_transfer.py')
    sys.modules.pop('compare_pixel_contrast', None)


def _apply(config: Path, options: list[str]) -> Config:
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    cfg = Config.fromfile(str(config))
    cfg.merge_from_dict(parser.parse_args(['--cfg-options', *options]).cfg_options)
    return cfg


@pytest.mark.parametrize('task', ['isbi_em', 'aerial_dubai', 'bccd'])
def test_finetune_overrides_reach_each_variant(compare, task, tmp_path):
    metric, variants = compare.TASKS[task]
    for variant, (config, method) in variants.items():
        backbone = tmp_path / f'{method}.pth' if method else None
        cfg = _apply(config, compare.finetune_options(task, 3, 40, '/data', backbone))
        assert cfg.randomness.seed == 3 and cfg.train_cfg.max_iters == 40
        assert cfg.train_cfg.val_interval == 40 and cfg.param_scheduler[-1].end == 40
        assert all(cfg[loader].dataset.data_root == f'/data/{task}' for loader in compare.LOADERS)
        init = cfg.model.backbone.get('init_cfg')
        if method:
            assert init == dict(type='Pretrained', checkpoint=str(backbone))
        else:
            assert init is None or init.get('type') != 'Pretrained'
        if task == 'bccd':
            assert cfg.val_evaluator.ann_file == '/data/bccd/coco_derived/bccd_val.json'


@pytest.mark.parametrize('method', ['detco', 'mocov2'])
def test_pretrain_overrides(compare, method):
    cfg = _apply(compare.PRETRAIN[method], compare.pretrain_options(30, '/data'))
    assert cfg.train_cfg.max_iters == 30 and cfg.param_scheduler[0].T_max == 30
    assert cfg.default_hooks.checkpoint.interval == 30
    assert cfg.train_dataloader.dataset.data_root == '/data'
    assert cfg.model.local is (method == 'detco')


def test_summary_mean_std_and_table(compare):
    runs = [dict(task='isbi_em', variant='detco', metric='mIoU', value=v, wall_time_s=60.0)
            for v in (70.0, 72.0, 74.0)]
    (row,) = compare.summarise(runs)
    assert row['mean'] == pytest.approx(72.0) and row['std'] == pytest.approx(2.0)
    assert row['wall_time_s'] == 180.0
    assert '| isbi_em | detco | mIoU | 70.00 / 72.00 / 74.00 | 72.00 ± 2.00 | 3.0 min |' in \
        compare.format_table([row])
