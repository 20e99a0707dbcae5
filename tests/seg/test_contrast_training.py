"""Training a ContrastEncoderDecoder with mmengine's Runner: banks in checkpoints and exact resume,
TensorBoard scalars, and identical banks on two gloo ranks."""
from pathlib import Path

import pytest
import torch

from ..engine.runner_utils import dist_train_two_ranks, tiny_seg_config, train_tiny
from .tiny import CONFIG_DIR, TINY_CONTRAST_CONFIG

BANK_PREFIX = 'contrast_loss.'


def _contrast_state(model) -> dict:
    """The banks' buffers and the step counter of a (possibly wrapped) model."""
    model = getattr(model, 'module', model)
    return {k: v.clone() for k, v in model.state_dict().items()
            if k.startswith(BANK_PREFIX) or k == 'contrast_iter'}


def _config(work_dir: Path, data_root: Path, max_iters: int, schedule_iters: int = 4):
    cfg = tiny_seg_config(work_dir, data_root, max_iters=max_iters, ckpt_interval=2,
                          config=TINY_CONTRAST_CONFIG)
    cfg.param_scheduler[0].end = schedule_iters  # the same LR schedule in stopped and full runs
    cfg.train_cfg.val_interval = schedule_iters
    return cfg


def test_banks_are_checkpointed_and_resume_is_bit_exact(tmp_path):
    data_root = tmp_path / 'data'
    full = train_tiny(_config(tmp_path / 'full', data_root, max_iters=4))
    first = train_tiny(_config(tmp_path / 'staged', data_root, max_iters=2))
    stopped = _contrast_state(first.model)
    assert stopped['contrast_loss.pixel_bank.count'].sum() > 0
    checkpoint = torch.load(tmp_path / 'staged' / 'iter_2.pth', map_location='cpu',
                            weights_only=True)
    for key, value in stopped.items():
        assert torch.equal(checkpoint['state_dict'][key], value), key
    cfg = _config(tmp_path / 'staged', data_root, max_iters=4)
    cfg.resume = True
    resumed = train_tiny(cfg)
    expected, got = _contrast_state(full.model), _contrast_state(resumed.model)
    assert int(got['contrast_iter']) == 4
    assert expected.keys() == got.keys()
    for key in expected:
        assert torch.equal(expected[key], got[key]), key
    for (name, a), (_, b) in zip(full.model.named_parameters(), resumed.model.named_parameters()):
        assert torch.equal(a, b), name


def test_tensorboard_backend_records_the_contrast_scalars(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    cfg = _config(tmp_path / 'work', tmp_path / 'data', max_iters=2, schedule_iters=2)
    cfg.default_hooks.logger.interval = 1
    cfg.visualizer = dict(type='SegLocalVisualizer', name=f'tb_{tmp_path.name}',
                          vis_backends=[dict(type='TensorboardVisBackend')])
    train_tiny(cfg)
    events = sorted((tmp_path / 'work').glob('*/vis_data/events.out.tfevents.*'))
    assert events, list((tmp_path / 'work').rglob('*'))
    accumulator = EventAccumulator(str(events[0].parent))
    accumulator.Reload()
    tags = set(accumulator.Tags()['scalars'])
    assert {'loss', 'loss_contrast', 'contrast_anchors', 'contrast_keys', 'contrast_active',
            'contrast_pixel_fill', 'contrast_region_fill_min', 'decode.loss_ce'} <= tags
    assert [e.value for e in accumulator.Scalars('contrast_active')] == [0.0, 1.0]


@pytest.mark.dist
def test_two_gloo_ranks_end_with_identical_banks(tmp_path):
    config = CONFIG_DIR / 'tiny_contrast_synthetic-shapes-32x32_dump-ranks.py'
    ranks, _ = dist_train_two_ranks(
        config, tmp_path, ['train_cfg.max_iters=3', 'train_cfg.val_interval=100', 'param_scheduler.0.end=3'])
    ranks = [rank['state_dict'] for rank in ranks]
    banks = [k for k in ranks[0] if k.startswith(BANK_PREFIX)]
    assert len(banks) == 6
    for key in banks:
        assert torch.equal(ranks[0][key], ranks[1][key]), key
    # 3 iterations x 2 ranks x 2 images: every class present in some image has keys
    assert ranks[0]['contrast_loss.region_bank.count'].sum() > 0
    assert int(ranks[0]['contrast_iter']) == int(ranks[1]['contrast_iter']) == 3
