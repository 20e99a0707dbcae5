"""DetCo pretraining with mmengine's Runner: the loss decreases, resume is bit-exact (queues, EMA
encoder and its step counter included), and two gloo ranks keep identical queues."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from ..conftest import PROJECT_ROOT
from ..engine.runner_utils import dist_train_two_ranks, train_tiny
from .folder import make_image_folder

CONFIG = PROJECT_ROOT / 'tests/selfsup/configs/tiny_detco_folder-32.py'
_runs = iter(range(10 ** 6))


def _config(work_dir: Path, data_root: Path, max_iters: int, schedule_iters: int = 4,
            pipeline_seed: bool = False) -> Config:
    cfg = Config.fromfile(str(CONFIG))
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'detco_{work_dir.name}_{next(_runs)}'
    cfg.train_dataloader.dataset.data_root = str(data_root)
    if pipeline_seed:  # views drawn from a per-image seed, independent of what ran before
        cfg.train_dataloader.dataset.pipeline.insert(0, dict(type='SeedTorchFromPath'))
    cfg.train_cfg.max_iters = max_iters
    cfg.param_scheduler[0].end = schedule_iters
    return cfg


def test_short_pretraining_run_lowers_the_loss(tmp_path):
    data = make_image_folder(tmp_path / 'images', count=8)
    cfg = _config(tmp_path / 'work', data, max_iters=16, schedule_iters=16)
    cfg.default_hooks.checkpoint.interval = 16
    runner = train_tiny(cfg)
    losses = [float(v) for v in runner.message_hub.get_scalar('train/loss').data[0]]
    assert len(losses) == 16 and all(torch.isfinite(torch.tensor(losses)))
    # iteration 0 has empty queues (fewer negatives): compare once they are full
    early, late = sum(losses[1:7]) / 6, sum(losses[-6:]) / 6
    assert late < early - 1.0, losses  # seen: 13.4 -> 10.6 (16 iterations)


def test_resume_is_bit_exact_with_queues_and_momentum_encoder(tmp_path):
    data = make_image_folder(tmp_path / 'images', count=8)
    full = train_tiny(_config(tmp_path / 'full', data, 4, pipeline_seed=True))
    train_tiny(_config(tmp_path / 'staged', data, 2, pipeline_seed=True))
    checkpoint = torch.load(tmp_path / 'staged' / 'iter_2.pth', map_location='cpu',
                            weights_only=True)['state_dict']
    assert int(checkpoint['queues.global_res5.count']) == 8
    assert int(checkpoint['key_encoder.steps']) == 2
    cfg = _config(tmp_path / 'staged', data, 4, pipeline_seed=True)
    cfg.resume = True
    resumed = train_tiny(cfg)
    expected, got = full.model.state_dict(), resumed.model.state_dict()
    assert expected.keys() == got.keys()
    assert any(k.startswith('queues.') for k in got) and 'key_encoder.steps' in got
    for key in expected:
        assert torch.equal(expected[key], got[key]), key
    assert int(got['key_encoder.steps']) == 4


@pytest.mark.dist
def test_two_gloo_ranks_keep_identical_queues_and_encoders(tmp_path):
    make_image_folder(tmp_path / 'data', count=8)
    ranks, log = dist_train_two_ranks(
        CONFIG.with_name('tiny_detco_folder-32_dump-ranks.py'), tmp_path,
        ['train_cfg.max_iters=3', 'param_scheduler.0.end=3', 'train_dataloader.batch_size=2'],
        loaders=('train_dataloader',))
    states = [rank['state_dict'] for rank in ranks]
    queues = [k for k in states[0] if k.startswith('queues.')]
    assert len(queues) == 8 * 3
    for key in queues:
        assert torch.equal(states[0][key], states[1][key]), key
    # 3 iterations x 2 ranks x 2 keys = 12 > 8 slots: full and wrapped
    assert int(states[0]['queues.local_res2.count']) == 8
    assert int(states[0]['queues.local_res2.ptr']) == 12 % 8
    for key in states[0]:
        if key.startswith(('query_encoder.', 'key_encoder.')) and 'running' not in key \
                and 'num_batches' not in key:
            assert torch.equal(states[0][key], states[1][key]), key
    assert 'Distributed training: True' in log
