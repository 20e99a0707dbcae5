"""tools/analysis_tools/compare_ore.py: variants, schedule overrides, metric reading, skipping
finished steps and the tables (the trainings themselves are exercised by
tests/det/test_training.py and a smoke run with --iters 4)."""
import argparse
import json

import pytest

from ..tool_loading import load_tool


@pytest.fixture(scope='module')
def compare():
    return load_tool('analysis_tools/compare_ore.py')


def _config(compare, name, dataset):
    prefix = compare.TRAINED[name][0]
    suffix = compare.DATASETS[dataset]['suffix']
    return compare.build_cfg(compare.CONFIG_DIR / f'{prefix}_r18-fpn-narrow_1xb4-300it_{suffix}.py',
                             compare.variant_options(name, 0, 500))


@pytest.mark.parametrize('dataset', ['chess', 'bccd'])
def test_variants_share_data_detector_and_schedule(compare, dataset):
    cfgs = {name: _config(compare, name, dataset) for name in compare.TRAINED}
    plain = cfgs['plain']
    for name, cfg in cfgs.items():
        assert cfg.train_cfg.max_iters == 500 and cfg.param_scheduler == plain.param_scheduler, name
        assert cfg.train_dataloader.dataset.task == plain.train_dataloader.dataset.task, name
        assert cfg.model.backbone == plain.model.backbone and cfg.model.neck == plain.model.neck
        assert cfg.model.roi_head.bbox_head.type == 'OpenWorldShared2FCBBoxHead', name
        assert cfg.model.train_cfg.rcnn.sampler.type == 'RandomSampler', name
    # plain and positive control: no pseudo-labels, no clustering; the control sees the unknowns
    for name in ('plain', 'positive_control'):
        assert cfgs[name].model.roi_head.num_unknown == 0
        assert cfgs[name].model.roi_head.bbox_head.clustering is None
    assert cfgs['plain'].train_dataloader.dataset.labels == 'current'
    assert cfgs['positive_control'].train_dataloader.dataset.labels == 'open'
    assert cfgs['positive_control'].model.roi_head.bbox_head.regress_unknown
    assert not cfgs['plain'].model.roi_head.bbox_head.regress_unknown
    assert cfgs['plain'].train_cfg.val_interval == 100  # the known-mAP curve
    for name in ('ore', 'ore_objectness'):
        assert cfgs[name].model.roi_head.num_unknown == 1
        assert cfgs[name].model.roi_head.bbox_head.clustering.start_iter == 50
        assert cfgs[name].train_cfg.val_interval == 500
    assert cfgs['ore_objectness'].model.rpn_head.type == 'ObjectnessRPNHead'
    assert cfgs['ore'].model.rpn_head.type == 'RPNHead'


def test_schedule_and_size_options(compare):
    options = compare.schedule_options(1, 120)
    assert {'randomness.seed=1', 'train_cfg.max_iters=120', 'train_cfg.val_interval=120',
            'param_scheduler.1.end=120', 'param_scheduler.1.milestones=[100]',
            'default_hooks.checkpoint.interval=24'} == set(options)
    assert 'train_cfg.val_interval=24' in compare.schedule_options(0, 120, 24)
    assert compare.clustering_schedule(500) == dict(start_iter=50, update_mu_iter=10)
    assert compare.clustering_schedule(4) == dict(start_iter=1, update_mu_iter=1)
    assert set(compare.size_options(2, 300, 128)) == {
        'train_dataloader.batch_size=2', 'model.train_cfg.rpn_proposal.max_per_img=300',
        'model.test_cfg.rpn.max_per_img=300', 'model.train_cfg.rcnn.sampler.num=128',
        'model.test_cfg.rcnn.score_thr=0.001'}


def test_final_metrics_reads_the_last_open_world_validation_and_the_curve(compare, tmp_path):
    log = tmp_path / '20260101_000000' / 'vis_data' / 'scalars.json'
    log.parent.mkdir(parents=True)
    first = {'ow/U_Recall': 1.0, 'ow/known_mAP': 10.0, 'step': 0}
    last = {'ow/U_Recall': 2.0, 'ow/known_mAP': 20.0, 'ow/U_Recall/white-rook': 5.0, 'step': 0}
    log.write_text('\n'.join(json.dumps(r) for r in [{'loss': 1.0}, first, {'loss': .5}, last]))
    metrics, curve = compare.final_ow_metrics(tmp_path)
    assert metrics == {'U_Recall': 2.0, 'known_mAP': 20.0, 'U_Recall/white-rook': 5.0}
    assert curve == [10.0, 20.0]
    with pytest.raises(FileNotFoundError, match='ow/U_Recall'):
        compare.final_ow_metrics(tmp_path / 'nothing')


def test_finished_steps_are_skipped_and_tolerated_failures_not_saved(compare, tmp_path):
    args = argparse.Namespace(batch_size=2, proposals=300, rois=128, cfg_options=[])
    steps = compare.Steps(tmp_path, args)
    calls = []

    def compute(work_dir):
        calls.append(work_dir)
        return dict(metrics={'known_mAP': 1.0})

    first = steps.cached('plain', compute)
    assert steps.cached('plain', compute) == first and len(calls) == 1
    assert first['wall_time_s'] >= 0

    def failing(work_dir):
        raise ValueError('the Weibull fit needs at least 3 finite known energies')

    assert steps.cached('plain_ebui', failing, tolerate=(ValueError,)) is None
    assert not (tmp_path / 'plain_ebui' / 'result.json').exists()
    with pytest.raises(RuntimeError):
        steps.cached('ore', lambda work_dir: (_ for _ in ()).throw(RuntimeError('training failed')))


def test_summary_rows_average_over_seeds_and_format(compare):
    def run(known, recall, hit_rate, seconds):
        return dict(metrics={'known_mAP': known, 'U_Recall@0.05': recall, 'U_Recall@0.001': recall,
                             'U_Recall_any': 50.0, 'WI': 0.01, 'A_OSE': 4.0},
                    diagnostics=dict(proposal_recall=dict(recall=80.0),
                                     pseudo_labels=dict(hit_rate=hit_rate)),
                    wall_time_s=seconds)
    row = compare.summary_row('ORE', [run(80.0, 10.0, 20.0, 60), run(84.0, 20.0, 40.0, 120)])
    assert row['metrics']['known_mAP'] == 82.0 and row['metrics']['pseudo_hit_rate'] == 30.0
    assert row['stdev']['known_mAP'] == pytest.approx(2 ** 1.5)
    line = compare.format_table([row]).splitlines()[-1]
    assert line == ('| ORE | 2 | 82.00 ± 2.83 | 15.00 ± 7.07 | 15.00 | 50.00 | 0.0100 | 4 | 80.00 | '
                    '30.00 | 1.5 min |')
    t2 = compare.summary_row('T2', [dict(metrics={'prev_mAP': 1.0, 'current_mAP': 2.0,
                                                  'known_mAP': 1.5}, wall_time_s=60)])
    assert compare.format_t2_table([t2]).splitlines()[-1] == '| T2 | 1 | 1.00 | 2.00 | 1.50 | 1.0 min |'
