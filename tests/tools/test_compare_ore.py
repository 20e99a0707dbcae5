"""tools/analysis_tools/compare_ore.py: configs, schedule overrides, metric reading and the table
(the trainings themselves are exercised by tests/det/test_training.py and the run in docs/ore.md)."""
import json

import pytest
from mmengine.config import Config

from ..tool_loading import load_tool


@pytest.fixture(scope='module')
def compare():
    return load_tool('analysis_tools/compare_ore.py')


def test_variants_share_data_and_schedule(compare):
    for spec in compare.DATASETS.values():
        plain, ore = (Config.fromfile(str(spec[k])) for k in ('plain', 'ore'))
        assert plain.train_cfg == ore.train_cfg and plain.param_scheduler == ore.param_scheduler
        assert plain.train_dataloader.dataset.task == ore.train_dataloader.dataset.task
        assert plain.model.roi_head.bbox_head.type == 'Shared2FCBBoxHead'
        assert ore.model.roi_head.bbox_head.type == 'OpenWorldShared2FCBBoxHead'
        assert plain.model.train_cfg.rcnn.sampler.type == 'RandomSampler'


def test_schedule_options_shorten_the_schedule(compare):
    options = compare.schedule_options(1, 120)
    assert {'randomness.seed=1', 'train_cfg.max_iters=120', 'train_cfg.val_interval=120',
            'param_scheduler.1.end=120', 'param_scheduler.1.milestones=[100]',
            'default_hooks.checkpoint.interval=120'} == set(options)
    assert compare.schedule_options(0, None) == ['randomness.seed=0']
    cfg = Config.fromfile(str(compare.DATASETS['bccd']['ore']))
    cfg.merge_from_dict(dict(o.split('=', 1) for o in options[1:3]))
    assert cfg.param_scheduler[1].type == 'MultiStepLR'  # index 1 is the step schedule


def test_final_metrics_reads_the_last_open_world_validation(compare, tmp_path):
    log = tmp_path / '20260101_000000' / 'vis_data' / 'scalars.json'
    log.parent.mkdir(parents=True)
    first = {f'ow/{k}': 1.0 for k in compare.METRICS}
    last = {f'ow/{k}': float(i) for i, k in enumerate(compare.METRICS)}
    log.write_text('\n'.join(json.dumps(r) for r in [{'loss': 1.0}, first, {'loss': .5}, last]))
    assert compare.final_ow_metrics(tmp_path) == {k: float(i) for i, k in enumerate(compare.METRICS)}
    with pytest.raises(FileNotFoundError, match='ow/U_Recall'):
        compare.final_ow_metrics(tmp_path / 'nothing')


def test_table_has_one_row_per_run(compare):
    metrics = dict(known_mAP=12.345, U_Recall=3.2, WI=0.01234, A_OSE=7.0, unknown_AP=0.5)
    table = compare.format_table([dict(dataset='bccd', variant='ORE - EBUI', wall_time_s=90,
                                       metrics=metrics)])
    assert table.splitlines()[-1] == '| bccd | ORE - EBUI | 12.35 | 3.20 | 0.0123 | 7 | 0.50 | 1.5 min |'
