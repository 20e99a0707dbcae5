"""The real datasets in ../shared/data: decoding, splits, and a short contrast training run.

Every test here is skipped (with the reason) when ../shared/data is absent.
"""
from pathlib import Path

import numpy as np
import pytest

from cl_dense.seg.datasets import AerialDubaiDataset, IsbiEMDataset

from ..tool_loading import load_tool

pytestmark = pytest.mark.realdata


@pytest.fixture(autouse=True)
def mmseg_scope():
    """Pipelines are built from mmseg's registries (LoadAnnotations, LoadColorMaskAnnotations)."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')


def _names(dataset) -> set:
    return {Path(dataset.get_data_info(i)['img_path']).stem for i in range(len(dataset))}


def _dataset_dir(shared_data: Path, name: str) -> str:
    root = shared_data / name
    if not root.is_dir():
        pytest.skip(f'{root} is absent')
    return str(root)


@pytest.fixture
def aerial_root(shared_data: Path) -> str:
    return _dataset_dir(shared_data, 'aerial_dubai')


@pytest.fixture
def isbi_root(shared_data: Path) -> str:
    return _dataset_dir(shared_data, 'isbi_em')


def test_aerial_split_is_fixed_disjoint_and_by_tile(aerial_root):
    train = AerialDubaiDataset(data_root=aerial_root, split='train')
    val = AerialDubaiDataset(data_root=aerial_root, split='val')
    every = AerialDubaiDataset(data_root=aerial_root, split='all')
    assert (len(train), len(val), len(every)) == (63, 9, 72)
    assert not _names(train) & _names(val)
    assert _names(train) | _names(val) == _names(every)
    assert _names(val) == {f'image_part_{k:03d}t8' for k in range(1, 10)}
    assert _names(train) == _names(AerialDubaiDataset(data_root=aerial_root, split='train'))


def test_aerial_held_out_split_and_quarter_budget(aerial_root):
    """The pixel contrast comparison's splits: train tiles 1-6, tuning tile 7, held-out tile 8."""
    kwargs = dict(data_root=aerial_root, val_tiles=(7,), test_tiles=(8,))
    train = _names(AerialDubaiDataset(split='train', **kwargs))
    quarter = _names(AerialDubaiDataset(split='train', label_fraction=0.25, **kwargs))
    val = _names(AerialDubaiDataset(split='val', **kwargs))
    test = _names(AerialDubaiDataset(split='test', **kwargs))
    assert (len(train), len(quarter), len(val), len(test)) == (54, 14, 9, 9)
    assert quarter < train and not (train | val) & test and not train & val
    assert {name[-2:] for name in test} == {'t8'} and {name[-2:] for name in val} == {'t7'}


def test_aerial_masks_decode_to_the_six_classes_and_ignore(aerial_root):
    dataset = AerialDubaiDataset(
        data_root=aerial_root, split='all', pipeline=[dict(type='LoadColorMaskAnnotations')])
    seen = set()
    for index in range(len(dataset)):
        values = np.unique(dataset[index]['gt_seg_map'])
        assert set(values.tolist()) <= {0, 1, 2, 3, 4, 5, 255}
        seen.update(values.tolist())
    assert seen == {0, 1, 2, 3, 4, 5, 255}, 'every class (and some black = ignore) occurs'


def test_aerial_val_tile_holds_every_class(aerial_root):
    val = AerialDubaiDataset(
        data_root=aerial_root, split='val', pipeline=[dict(type='LoadColorMaskAnnotations')])
    seen = set()
    for index in range(len(val)):
        seen.update(np.unique(val[index]['gt_seg_map']).tolist())
    assert {0, 1, 2, 3, 4, 5} <= seen


def test_isbi_labels_map_to_membrane_and_cell(isbi_root):
    train = IsbiEMDataset(data_root=isbi_root, split='train',
                          pipeline=[dict(type='LoadAnnotations')])
    val = IsbiEMDataset(data_root=isbi_root, split='val')
    assert (len(train), len(val)) == (24, 6)
    assert _names(val) == {str(n) for n in range(24, 30)}
    assert not _names(train) & _names(val)
    labels = train[0]['gt_seg_map']
    assert set(np.unique(labels).tolist()) == {0, 1}


def test_unknown_split_names_the_problem(aerial_root):
    with pytest.raises(ValueError, match='split must be one of'):
        AerialDubaiDataset(data_root=aerial_root, split='tset')


def _load_tool(name: str):
    """Import tools/analysis_tools/<name>.py as a module (tools/ is not a package)."""
    return load_tool(f'analysis_tools/{name}.py')


def _tiny_aerial_contrast_cfg(aerial_root: str, work_dir: Path):
    """The aerial CE + memory contrast config shrunk to a few iterations on 128 px crops."""
    from mmengine import Config

    from tests.conftest import PROJECT_ROOT
    name = 'pixcontrast-mem_deeplabv3_r18-tiny-d8_1xb4-200it_aerial-dubai-256x256.py'
    cfg = Config.fromfile(str(PROJECT_ROOT / 'configs' / 'pixel_contrast' / name))
    iters = 4
    cfg.work_dir = str(work_dir)
    cfg.randomness = dict(seed=0)
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters
    cfg.param_scheduler[0].end = iters
    cfg.default_hooks.checkpoint.interval = iters
    cfg.default_hooks.logger.interval = 1
    cfg.model.data_preprocessor.size = (128, 128)
    cfg.model.contrast_warmup_iters = 1
    cfg.model.contrast_loss.memory_size = 40
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False
        cfg[loader].dataset.data_root = aerial_root
    cfg.train_dataloader.batch_size = 2
    train_pipeline = cfg.train_dataloader.dataset.pipeline
    train_pipeline[2].scale = (256, 256)
    train_pipeline[3].crop_size = (128, 128)
    cfg.val_dataloader.dataset.indices = 1
    cfg.val_dataloader.dataset.pipeline[1].scale = (256, 256)
    return cfg


@pytest.mark.slow
def test_smoke_training_with_memory_contrast_then_tsne(aerial_root, tmp_path):
    from mmengine.runner import Runner

    runner = Runner.from_cfg(_tiny_aerial_contrast_cfg(aerial_root, tmp_path / 'work'))
    runner.train()
    logged = runner.message_hub.log_scalars
    losses = {k: v.data[0] for k, v in logged.items() if k.startswith('train/') and 'loss' in k}
    assert 'train/loss_contrast' in losses and 'train/decode.loss_ce' in losses
    for name, values in losses.items():
        assert len(values) == 4 and np.isfinite(values).all(), f'{name}: {values}'
    assert losses['train/loss_contrast'][-1] > 0, 'the contrast term is on after the warm-up'
    contrast = runner.model.contrast_loss
    assert int(contrast.pixel_bank.count.sum()) > 0 and int(contrast.region_bank.count.sum()) > 0
    assert int(contrast.pixel_bank.count.max()) == 40, 'a seen class filled its pixel bank'
    assert 'val/mIoU' in logged

    out = tmp_path / 'tsne.png'
    _load_tool('visualize_embeddings').main([
        str(runner.cfg.filename), str(tmp_path / 'work' / 'iter_4.pth'), '--out', str(out),
        '--num-pixels', '60', '--num-images', '1', '--cfg-options',
        f'val_dataloader.dataset.data_root={aerial_root}', 'model.contrast_loss.memory_size=40'])
    assert out.stat().st_size > 0
