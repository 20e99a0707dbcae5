"""tools/analysis_tools/compare_pixel_contrast.py: options, the held-out split and label budget it
asks for, resume, the sweep choice, the paired summary (the training itself is exercised by the
real-data smoke test and the measured run in docs/pixel_contrast.md)."""
import argparse
import json

import pytest
from mmengine.config import Config

from ..tool_loading import load_tool


@pytest.fixture(scope='module')
def compare():
    return load_tool('analysis_tools/compare_pixel_contrast.py')


def _args(tmp_path, **kw):
    base = dict(iters=80, data_root='/data', nice=0, seeds=[0, 1], budgets=[1.0, 0.25],
                work_dir=str(tmp_path), pretrain_iters=10, stage='all')
    base.update(kw)
    return argparse.Namespace(**base)


def test_variants_share_model_data_and_schedule_but_the_contrast(compare):
    configs = {name: Config.fromfile(path) for name, path in compare.VARIANTS.items()}
    ce = configs['ce']
    for name in ('inbatch', 'memory'):
        cfg = configs[name]
        assert cfg.model.type == 'ContrastEncoderDecoder'
        assert cfg.model.backbone == ce.model.backbone
        assert cfg.model.decode_head == ce.model.decode_head
        assert cfg.train_dataloader == ce.train_dataloader and cfg.param_scheduler == ce.param_scheduler
    assert configs['inbatch'].model.contrast_loss.type == 'PixelContrastLoss'
    assert configs['memory'].model.contrast_loss.type == 'PixelMemoryContrastLoss'
    # tuning on tile 7, final numbers on tile 8, training never on either
    assert ce.val_dataloader.dataset.split == 'val' and ce.test_dataloader.dataset.split == 'test'
    assert tuple(ce.train_dataloader.dataset.val_tiles) == (7,)
    assert tuple(ce.train_dataloader.dataset.test_tiles) == (8,)


def test_run_options_set_seed_budget_backbone_and_schedule(compare):
    options = compare.run_options('memory', 3, 0.25, 160, '/d', '/b.pth')
    assert {'randomness.seed=3', 'train_dataloader.dataset.label_fraction=0.25',
            'model.backbone.init_cfg.checkpoint=/b.pth', 'train_cfg.max_iters=160',
            'param_scheduler.0.end=160', 'train_cfg.val_interval=20',
            'model.contrast_warmup_iters=20',
            'test_dataloader.dataset.data_root=/d/aerial_dubai'} <= set(options)
    assert not any('warmup' in o for o in compare.run_options('ce', 0, 1.0, 160, '/d', '/b'))


def test_finished_runs_are_reused_not_trained_again(compare, tmp_path, monkeypatch):
    args = _args(tmp_path)
    folder = compare.run_dir(tmp_path, 1.0, 'ce', 'base', 0)
    folder.mkdir(parents=True)
    done = {'variant': 'ce', 'setting': 'base', 'seed': 0, 'budget': 1.0, 'iters': 80,
            'val': {'mIoU': 40.0}, 'test': {'mIoU': 38.0}, 'train_wall_time_s': 1.0}
    (folder / 'run.json').write_text(json.dumps(done))

    def no_training(*a, **k):
        raise AssertionError('a finished run was trained again')

    monkeypatch.setattr(compare, 'run_tool', no_training)
    assert compare.train_and_test(tmp_path, 'ce', 'base', 0, 1.0, args, '/b', True) == done


def test_a_trained_run_without_test_is_only_tested(compare, tmp_path, monkeypatch):
    args = _args(tmp_path)
    folder = compare.run_dir(tmp_path, 0.25, 'memory', 'v1-w1', 1)
    folder.mkdir(parents=True)
    trained = {'variant': 'memory', 'setting': 'v1-w1', 'seed': 1, 'budget': 0.25, 'iters': 80,
               'config': 'configs/x.py', 'options': ['a=1'], 'val': {'mIoU': 40.0},
               'train_wall_time_s': 1.0}
    (folder / 'run.json').write_text(json.dumps(trained))
    calls = []

    def fake_tool(tool_args, log_file, niceness):
        calls.append(tool_args[0])
        stamp = folder / 'test' / '20261207_000000'
        stamp.mkdir(parents=True)
        (stamp / '20261207_000000.json').write_text(json.dumps(
            {'aAcc': 80.0, 'mIoU': 41.5, 'mAcc': 50.0, 'IoU.water': 12.0, 'data_time': 0.1}))
        return 2.0

    monkeypatch.setattr(compare, 'run_tool', fake_tool)
    record = compare.train_and_test(tmp_path, 'memory', 'v1-w1', 1, 0.25, args, '/b', True)
    assert calls == ['tools/test.py']
    assert record['test'] == {'aAcc': 80.0, 'mIoU': 41.5, 'mAcc': 50.0, 'IoU.water': 12.0}
    assert json.loads((folder / 'run.json').read_text())['test']['mIoU'] == 41.5


def test_sweep_choice_is_the_best_tuning_tile_score(compare):
    runs = [dict(variant='memory', setting='a', val={'mIoU': 40.0}),
            dict(variant='memory', setting='b', val={'mIoU': 42.0}),
            dict(variant='memory', setting='c', val={'mIoU': 42.0}),
            dict(variant='ce', setting='base', val={'mIoU': 39.0})]
    assert compare.choose_settings(runs) == {'memory': 'b', 'ce': 'base'}


def test_summary_pairs_seeds_and_deltas_per_class(compare):
    def run(variant, seed, miou, water, diag=None):
        return dict(variant=variant, setting='s', seed=seed, budget=1.0, train_wall_time_s=60.0,
                    val={'mIoU': miou - 1}, test={'mIoU': miou, 'IoU.water': water},
                    diagnostics=diag or {})
    runs = [run('ce', 0, 40.0, 10.0), run('ce', 1, 44.0, 20.0),
            run('memory', 1, 47.0, 22.0, {'contrast_anchors': 16.0}),
            run('memory', 0, 41.0, 13.0, {'contrast_anchors': 18.0})]
    entry = compare.summarise(runs)['1']['memory']
    assert entry['test_mIoU'] == [41.0, 47.0]
    assert entry['paired_diff'] == [1.0, 3.0]
    assert entry['paired_diff_mean_std'][0] == pytest.approx(2.0)
    assert entry['paired_diff_mean_std'][1] == pytest.approx(2 ** 0.5)
    assert entry['class_delta'] == {'water': pytest.approx(2.5)}
    assert entry['contrast_anchors'] == pytest.approx(17.0)
    text = compare.format_report(compare.summarise(runs))
    assert '+2.00 ± 1.41 (+1.00 / +3.00)' in text and '| memory | +2.50 |' in text


def test_diagnostics_average_after_the_warmup(compare):
    records = [{'step': 10, 'contrast_anchors': 0.0}, {'step': 30, 'contrast_anchors': 10.0},
               {'step': 40, 'contrast_anchors': 20.0, 'contrast_hard_share': 0.5}]
    assert compare.diagnostics(records, 20) == {'contrast_anchors': 15.0, 'contrast_hard_share': 0.5}


def test_final_metrics_reads_the_last_validation(compare, tmp_path):
    log = tmp_path / '20260101_000000' / 'vis_data' / 'scalars.json'
    log.parent.mkdir(parents=True)
    records = [{'loss': 1.0, 'step': 1}, {'mIoU': 10.0, 'mAcc': 20.0, 'aAcc': 30.0, 'step': 2},
               {'loss': 0.5, 'step': 3}, {'mIoU': 12.5, 'mAcc': 21.0, 'aAcc': 31.0, 'step': 4}]
    log.write_text('\n'.join(json.dumps(r) for r in records))
    assert compare.final_metrics(tmp_path) == {'mIoU': 12.5, 'mAcc': 21.0, 'aAcc': 31.0}
    with pytest.raises(FileNotFoundError, match='no validation metrics'):
        compare.final_metrics(tmp_path / 'elsewhere')


def test_final_metrics_of_a_detection_run(compare, tmp_path):
    log = tmp_path / '20260101_000000' / 'vis_data' / 'scalars.json'
    log.parent.mkdir(parents=True)
    log.write_text(json.dumps({'coco/bbox_mAP': 0.25, 'step': 5}))
    assert compare.final_metrics(tmp_path, ('coco/bbox_mAP',)) == {'coco/bbox_mAP': 0.25}
