"""tools/analysis_tools/compare_pixel_contrast.py: overrides, metric reading and the summary
(the training itself is exercised by the real-data smoke test and the measured run in the docs)."""
import json

import pytest

from ..tool_loading import load_tool


@pytest.fixture(scope='module')
def compare():
    return load_tool('analysis_tools/compare_pixel_contrast.py')


def test_both_variants_exist(compare):
    for config in compare.VARIANTS.values():
        assert config.is_file(), config


def test_run_options_set_seed_data_root_and_schedule(compare):
    options = compare.run_options(3, '/data/aerial', 50)
    assert 'randomness.seed=3' in options
    assert 'val_dataloader.dataset.data_root=/data/aerial' in options
    assert {'train_cfg.max_iters=50', 'param_scheduler.0.end=50'} <= set(options)
    assert compare.run_options(0, None, None) == ['randomness.seed=0']


def test_final_metrics_reads_the_last_validation(compare, tmp_path):
    log = tmp_path / '20260101_000000' / 'vis_data' / 'scalars.json'
    log.parent.mkdir(parents=True)
    records = [{'loss': 1.0, 'step': 1}, {'mIoU': 10.0, 'mAcc': 20.0, 'aAcc': 30.0, 'step': 2},
               {'loss': 0.5, 'step': 3}, {'mIoU': 12.5, 'mAcc': 21.0, 'aAcc': 31.0, 'step': 4}]
    log.write_text('\n'.join(json.dumps(r) for r in records))
    assert compare.final_metrics(tmp_path) == {'mIoU': 12.5, 'mAcc': 21.0, 'aAcc': 31.0}


def test_final_metrics_without_validation_names_the_problem(compare, tmp_path):
    with pytest.raises(FileNotFoundError, match='no validation metrics'):
        compare.final_metrics(tmp_path)


def test_summary_mean_sample_std_and_table(compare):
    runs = [dict(variant=v, seed=s, wall_time_s=60.0,
                 metrics=dict(mIoU=m, mAcc=m + 10, aAcc=m + 20))
            for v, s, m in [('ce', 0, 20.0), ('ce', 1, 24.0), ('ce+memory-contrast', 0, 22.0)]]
    summary = compare.summarise(runs)
    assert summary['ce']['mIoU']['mean'] == pytest.approx(22.0)
    assert summary['ce']['mIoU']['std'] == pytest.approx(2.0 ** 0.5 * 2)
    assert summary['ce+memory-contrast']['mIoU']['std'] == 0.0
    assert summary['ce']['wall_time_s'] == 120.0
    table = compare.format_table(runs, summary)
    assert '| ce | 0: 20.00, 1: 24.00 | 22.00 ± 2.83 |' in table
