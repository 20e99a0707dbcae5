"""compare_pretraining.py: every method's configs exist and take the overrides (seed, length, data,
pretrained backbone), finished runs are reused, and the summary table."""
import argparse
import json
import sys
from pathlib import Path

import pytest
from mmengine.config import Config, DictAction

from tests.tool_loading import load_tool


@pytest.fixture(scope='module')
def compare():
    yield load_tool('analysis_tools/compare_pretraining.py')
    sys.modules.pop('compare_pixel_contrast', None)


def _apply(config: Path, options: list[str]) -> Config:
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    cfg = Config.fromfile(str(config))
    cfg.merge_from_dict(parser.parse_args(['--cfg-options', *options]).cfg_options)
    return cfg


def _finetune_cases():
    compare = load_tool('analysis_tools/compare_pretraining.py')
    return [(name, task) for name, method in compare.METHODS.items() for task in method.finetune]


@pytest.mark.parametrize('name,task', _finetune_cases())
def test_finetune_overrides_reach_each_method(compare, name, task, tmp_path):
    method = compare.METHODS[name]
    backbone = tmp_path / 'backbone.pth' if method.pretrain_key(task) else None
    cfg = _apply(method.finetune[task],
                 compare.finetune_options(method.finetune[task], task, 3, 40, '/data', backbone))
    assert cfg.randomness.seed == 3 and cfg.train_cfg.max_iters == 40
    assert cfg.train_cfg.val_interval == 40 and cfg.param_scheduler[-1].end == 40
    assert cfg.default_hooks.checkpoint.interval == 40
    assert all(cfg[loader].dataset.data_root == f'/data/{task}' for loader in compare.LOADERS)
    init = cfg.model.backbone.get('init_cfg')
    if backbone is not None:
        assert init.type == 'Pretrained' and init.checkpoint == str(backbone)
    else:
        assert init is None or init.get('type') != 'Pretrained'
    if task == 'bccd':
        assert cfg.val_evaluator.ann_file == '/data/bccd/coco_derived/bccd_val.json'


def _pretrain_cases():
    compare = load_tool('analysis_tools/compare_pretraining.py')
    return [(name, key) for name, method in compare.METHODS.items() for key in method.pretrain]


@pytest.mark.parametrize('name,key', _pretrain_cases())
def test_pretrain_overrides(compare, name, key):
    method = compare.METHODS[name]
    config = method.pretrain[key]
    options, iters = compare.pretrain_options(config, key, 30, '/data', method.task_root)
    cfg = _apply(config, options)
    assert iters == 30 and cfg.train_cfg.max_iters == 30 and cfg.randomness.seed == 0
    assert cfg.param_scheduler[-1].end == 30 and cfg.default_hooks.checkpoint.interval == 30
    assert all(s.T_max == 30 - s.get('begin', 0) for s in cfg.param_scheduler if 'T_max' in s)
    dataset = cfg.train_dataloader.dataset
    want = '/data' if key == compare.POOL or not method.task_root else f'/data/{key}'
    assert dataset.data_root == want
    if key != compare.POOL and not method.task_root:  # the task's own images, from the root
        assert dataset.sub_dirs and all(d.startswith(f'{key}/') for d in dataset.sub_dirs)
    # the config's own length by default
    assert compare.pretrain_options(config, key, None, None)[1] == \
        Config.fromfile(str(config)).train_cfg.max_iters


def test_pool_methods_share_one_pretraining_and_random_has_none(compare):
    assert compare.METHODS['detco'].pretrain_key('aerial_dubai') == compare.POOL
    assert compare.METHODS['pixcontrast'].pretrain_key('isbi_em') == 'isbi_em'
    assert compare.METHODS['random'].pretrain_key('isbi_em') is None


def test_finished_runs_are_reused(compare, tmp_path, monkeypatch):
    calls = []

    def fake_train(config, work_dir, options, nice):
        calls.append(work_dir)
        return 12.0
    monkeypatch.setattr(compare, 'train_one', fake_train)
    config = compare.METHODS['random'].finetune['isbi_em']
    first = compare.run_once(config, tmp_path, ['a=1'], 0, reuse=True,
                             finish=lambda w: {'value': 50.0})
    assert first['wall_time_s'] == 12.0 and first['value'] == 50.0 and first['cpu_time_s'] >= 0
    assert json.loads((tmp_path / 'run.json').read_text()) == first
    again = compare.run_once(config, tmp_path, ['a=1'], 0, reuse=True,
                             finish=lambda w: {'value': 99.0})
    assert again == first and len(calls) == 1
    compare.run_once(config, tmp_path, ['a=1'], 0, reuse=False, finish=lambda w: {'value': 1.0})
    assert len(calls) == 2


def test_summary_mean_std_and_table(compare):
    runs = [dict(task='isbi_em', method='detco', value=v, wall_time_s=60.0)
            for v in (70.0, 72.0, 74.0)]
    runs += [dict(task='aerial_dubai', method='random', value=v, wall_time_s=60.0)
             for v in (10.0, 20.0)]
    rows = compare.summarise(runs, {'detco': {compare.POOL: dict(wall_time_s=150.0,
                                                                 cpu_time_s=240.0)}})
    detco, random = rows
    assert detco['tasks']['isbi_em']['mean'] == pytest.approx(72.0)
    assert detco['tasks']['isbi_em']['std'] == pytest.approx(2.0)
    assert random['tasks']['aerial_dubai']['std'] == pytest.approx(7.0710678)
    table = compare.format_table(rows, ['isbi_em', 'aerial_dubai'])
    assert '| detco | 72.00 ± 2.00 | - | 4.0 min (2.5 min) | cl_dense |' in table
    assert '| random | - | 15.00 ± 7.07 | - | - |' in table


def test_children_cpu_seconds_counts_a_finished_child(compare):
    import subprocess
    before = compare.children_cpu_seconds()
    subprocess.run([sys.executable, '-c',
                    'import time\nend = time.process_time() + 0.3\n'
                    'while time.process_time() < end: pass'], check=True)
    assert compare.children_cpu_seconds() - before >= 0.25
