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
def test_holdout_splits_are_disjoint_and_reach_each_method(compare, name, task, tmp_path,
                                                          shared_data):
    """train / val (curves) / test (held out) are three disjoint sets of the task's images
    (skipped with the reason when ../shared/data is absent)."""
    method = compare.METHODS[name]
    config = method.finetune[task]
    cfg = _apply(config, compare.finetune_options(config, task, 0, 40, None, None, holdout=True,
                                                  val_interval=10))
    assert cfg.train_cfg.val_interval == 10 and cfg.train_cfg.max_iters == 40
    if task == 'bccd':
        assert cfg.test_dataloader.dataset.ann_file == 'coco_derived/bccd_test.json'
        assert cfg.test_evaluator.ann_file.endswith('bccd/coco_derived/bccd_test.json')
        assert cfg.val_evaluator.ann_file.endswith('bccd_val.json')
        return
    from mmengine.registry import DATASETS, init_default_scope
    init_default_scope('mmseg')
    import cl_dense.seg  # noqa: F401
    names = {}
    for loader in compare.LOADERS:
        dataset = DATASETS.build(dict(cfg[loader].dataset, pipeline=[], lazy_init=False))
        names[loader] = {Path(info['img_path']).name for info in dataset.load_data_list()}
    train, val, test = (names[k] for k in compare.LOADERS)
    assert train and val and test
    assert not train & val and not train & test and not val & test
    if task == 'isbi_em':
        assert (len(train), len(val), len(test)) == (20, 4, 6)
    else:  # 2 of the 8 tiles labelled, one tile each for val and test
        assert (len(train), len(val), len(test)) == (18, 9, 9)


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


def test_in_domain_pretraining_reads_the_task_images(compare):
    config = compare.METHODS['detco'].pretrain[compare.POOL]
    for task, dirs in compare.IN_DOMAIN_DIRS.items():
        options, _ = compare.pretrain_options(config, compare.POOL, 5, '/data', in_domain=task)
        dataset = _apply(config, options).train_dataloader.dataset
        assert dataset.data_root == '/data' and dataset.sub_dirs == dirs
        assert all(d.startswith(f'{task}/') for d in dirs)


def test_pretraining_plan_pool_and_in_domain(compare):
    args = compare.parse_args(['--methods', 'random', 'detco', 'pcrl', '--tasks', 'isbi_em',
                               'aerial_dubai', '--pretrain-data', 'pool', 'in-domain'])
    plan = compare.pretraining_plan(args)
    assert ('detco', 'detco', compare.POOL, None) in plan
    assert ('detco (in-domain)', 'detco', 'in-domain/isbi_em', 'isbi_em') in plan
    assert ('detco (in-domain)', 'detco', 'in-domain/aerial_dubai', 'aerial_dubai') in plan
    assert ('pcrl', 'pcrl', 'isbi_em', None) in plan and len(plan) == 5  # no in-domain PCRL twice
    only = compare.pretraining_plan(compare.parse_args(
        ['--methods', 'detco', '--tasks', 'isbi_em', '--pretrain-data', 'in-domain']))
    assert only == [('detco (in-domain)', 'detco', 'in-domain/isbi_em', 'isbi_em')]
    assert compare.parse_args([]).holdout and not compare.parse_args(['--no-holdout']).holdout


# isbi_em, issue 16: random-init UNet seeds 0/1/2 (two predicted "cell" everywhere)
STUCK = dict(mIoU=40.18, aAcc=80.35, mAcc=50.0)
REAL = dict(mIoU=67.94, aAcc=86.1, mAcc=79.3)


def test_stuck_runs_are_recognised(compare):
    assert compare.single_class_count(STUCK) == 2 and compare.is_stuck(STUCK)
    assert not compare.is_stuck(REAL) and not compare.is_stuck(dict(mIoU=99.0, aAcc=99.5, mAcc=99.2))
    # 6 classes, 4 present in the ground truth, one predicted everywhere
    assert compare.single_class_count(dict(mIoU=12.5, aAcc=50.0, mAcc=25.0)) == 4
    # one class predicted everywhere except a few pixels is not "exactly" stuck but is caught
    assert compare.is_stuck(dict(mIoU=40.19, aAcc=80.36, mAcc=50.01))
    assert compare.is_stuck(dict(mIoU=40.18)) is None  # old records without aAcc/mAcc


def test_stuck_runs_are_counted_and_left_out_of_mean_and_std(compare):
    values = [(STUCK, 40.18, True), (REAL, 67.94, False), (STUCK, 40.18, True)]
    runs = [dict(task='isbi_em', method='random-unet', value=v, stuck=compare.is_stuck(m),
                 wall_time_s=30.0) for m, v, _ in values]
    runs += [dict(task='isbi_em', method='pcrl', value=40.18, stuck=True, wall_time_s=30.0)
             for _ in range(3)]
    row, pcrl = compare.summarise(runs, {})
    entry = row['tasks']['isbi_em']
    assert entry['stuck'] == 2 and entry['values'] == [40.18, 67.94, 40.18]
    assert entry['mean'] == pytest.approx(67.94) and entry['std'] == 0.0
    table = compare.format_table([row, pcrl], ['isbi_em'])
    assert '| random-unet | 67.94 ± 0.00 (2/3 stuck, excluded) |' in table
    assert '| pcrl | stuck (3/3) |' in table


def test_finished_fine_tuning_records_its_metrics_curve_and_stuck_flag(compare, tmp_path):
    run = tmp_path / '20260101_000000' / 'vis_data'
    run.mkdir(parents=True)
    lines = [dict(step=10, loss=0.5), dict(step=10, mIoU=40.18, aAcc=80.35, mAcc=50.0),
             dict(step=20, mIoU=40.18, aAcc=80.35, mAcc=50.0)]
    (run / 'scalars.json').write_text('\n'.join(json.dumps(x) for x in lines))
    finish = compare.finish_finetune(Path('c.py'), [], 20, compare.SEG_METRIC, False, 0)
    done = finish(tmp_path)
    assert done['value'] == 40.18 and done['stuck'] is True and done['split'] == 'val'
    assert done['curve'] == [[10, 40.18], [20, 40.18]]


def test_curves_png_is_written(compare, tmp_path):
    runs = [dict(task='isbi_em', variant=v, seed=s, curve=[[10, 40.0 + s], [20, 50.0 + s]])
            for v in ('random', 'detco') for s in (0, 1)]
    paths = compare.plot_curves(runs, tmp_path)
    assert paths == [tmp_path / 'curves_isbi_em.png']
    assert paths[0].read_bytes()[:4] == b'\x89PNG'


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
