"""configs/selfsup_zoo (mmpretrain's SimCLR, SwAV, BYOL): each config runs one CPU iteration on
a tiny folder with a finite loss; the pool configs' exported backbone loads strictly into the
backbones of the shared-pool transfer configs (isbi_em, aerial_dubai, bccd) and computes what the
trained backbone computes; they share DetCo's backbone, pool and schedule."""
import math
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope

from tests.conftest import PROJECT_ROOT
from tests.engine.runner_utils import dist_train_two_ranks, train_tiny
from tests.selfsup.folder import make_image_folder
from tests.selfsup_zoo.mmpretrain_runs import one_iteration_config, one_step
from tests.tool_loading import load_tool

converter = load_tool('model_converters/detco_to_backbone.py')
ZOO = PROJECT_ROOT / 'configs/selfsup_zoo'
DETCO_POOL = PROJECT_ROOT / 'configs/detco/detco_resnet18-narrow_1xb16-1000it_shared-pool.py'
TRANSFERS = [PROJECT_ROOT / 'configs/detco/transfer' / name for name in (
    'deeplabv3_r18-tiny-d8_detco-shared-pool_1xb4-200it_isbi-em-256x256.py',
    'deeplabv3_r18-tiny-d8_detco-shared-pool_1xb4-200it_aerial-dubai-256x256.py',
    'faster-rcnn_r18-tiny_fpn_detco-shared-pool_1xb2-300it_bccd.py')]
POOL_CONFIGS = ['simclr', 'byol', 'swav']


@pytest.fixture(autouse=True)
def restore_default_scope():
    """The Runner makes its scope ('mmpretrain') current; leave the scope as it was."""
    with DefaultScope.overwrite_default_scope('mmengine'):
        yield


@pytest.fixture(scope='module')
def images(tmp_path_factory) -> Path:
    return make_image_folder(tmp_path_factory.mktemp('zoo') / 'images', count=4, side=48)


def _pool_config(method: str) -> Path:
    return ZOO / f'{method}_resnet18-narrow_1xb16-1000it_shared-pool.py'


def _loss(runner) -> float:
    return float(runner.message_hub.get_scalar('train/loss').data[0][-1])


def _transfer_backbone(transfer: Path = TRANSFERS[0], **changes) -> torch.nn.Module:
    cfg = Config.fromfile(str(transfer))
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return MODELS.build(dict(cfg.model.backbone, init_cfg=None, **changes))


@pytest.mark.parametrize('method', POOL_CONFIGS)
def test_pool_config_trains_one_iteration_and_its_export_loads_into_the_transfer_backbone(
        method, images, tmp_path):
    cfg = one_iteration_config(_pool_config(method), tmp_path / 'work', images,
                               sizes={96: 32, 48: 16})
    runner = train_tiny(cfg)
    assert math.isfinite(_loss(runner))
    backbone = converter.convert(str(tmp_path / 'work' / 'iter_1.pth'), str(tmp_path / 'bb.pth'))
    for transfer in TRANSFERS:  # mmseg ResNetV1c dilated to output stride 8; mmdet deep stem
        result = _transfer_backbone(transfer).load_state_dict(backbone, strict=True)
        assert not result.missing_keys and not result.unexpected_keys, transfer.name
    # the same weights in the pretraining geometry (not dilated) give the trained outputs
    same_geometry = _transfer_backbone(strides=(1, 2, 2, 2), dilations=(1, 1, 1, 1))
    same_geometry.load_state_dict(backbone, strict=True)
    trained = runner.model.backbone
    trained.eval(), same_geometry.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(same_geometry(x)[3], trained(x)[0], rtol=0, atol=0)


@pytest.mark.parametrize('method', POOL_CONFIGS)
def test_pool_config_shares_detco_backbone_pool_and_schedule(method):
    ours, detco = Config.fromfile(str(_pool_config(method))), Config.fromfile(str(DETCO_POOL))
    assert ours.default_scope == 'mmpretrain'
    assert dict(ours.model.backbone, out_indices=None) == dict(detco.model.backbone,
                                                               out_indices=None)
    for key in ('data_root', 'sub_dirs', 'type'):
        assert ours.train_dataloader.dataset[key] == detco.train_dataloader.dataset[key], key
    assert ours.train_dataloader.batch_size == detco.train_dataloader.batch_size
    assert ours.optim_wrapper == detco.optim_wrapper
    assert ours.param_scheduler == detco.param_scheduler and ours.train_cfg == detco.train_cfg



@pytest.mark.parametrize('config', [
    'simclr_resnet50_16xb256-coslr-200e_in1k.py', 'byol_resnet50_16xb256-coslr-200e_in1k.py',
    'swav_resnet50_8xb32-mcrop-coslr-200e_in1k-224px-96px.py'])
def test_imagenet_config_trains_one_step_and_its_backbone_fits_the_detco_r50_transfer(
        config, images):
    """mmpretrain's own R-50 configs (views shrunk 224 -> 32 px, 96 -> 16 px; LARS as
    configured) take a step on our folder dataset; the backbone's entries loads strictly into
    DeepLabV3's R-50 of the DetCo ImageNet transfer."""
    assert Config.fromfile(str(ZOO / config)).train_dataloader.dataset.type == \
        'UnlabelledImageFolder'
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model, loss = one_step(ZOO / config, images, sizes={224: 32, 96: 16})
    assert math.isfinite(loss)
    backbone = converter.extract_backbone(model.state_dict(), 'backbone.')
    transfer = Config.fromfile(str(PROJECT_ROOT / 'configs/detco/transfer/'
                                   'deeplabv3_r50-d8_detco-in1k_4xb2-80k_cityscapes-512x1024.py'))
    with DefaultScope.overwrite_default_scope(transfer.default_scope):
        target = MODELS.build(dict(transfer.model.backbone, init_cfg=None))
    result = target.load_state_dict(backbone, strict=True)
    assert not result.missing_keys and not result.unexpected_keys


@pytest.mark.dist
def test_swav_trains_on_two_gloo_ranks_with_frozen_prototypes_and_identical_weights(tmp_path):
    """Two CPU ranks (tools/dist_train.sh): the prototypes frozen for 2 of 3 iterations (unused
    parameters under DDP) and the Sinkhorn all-reduce; every parameter equal on both ranks."""
    make_image_folder(tmp_path / 'data', count=8, side=48)
    ranks, log = dist_train_two_ranks(
        PROJECT_ROOT / 'tests/selfsup_zoo/configs/tiny_swav_dump-ranks.py', tmp_path,
        ['train_cfg.max_iters=3', 'train_dataloader.batch_size=2'], loaders=('train_dataloader',))
    assert 'Distributed training: True' in log
    params = ranks[0]['parameters']
    assert 'head.loss_module.prototypes.weight' in params
    for name in params:
        assert torch.equal(ranks[0]['state_dict'][name], ranks[1]['state_dict'][name]), name


def test_byol_resume_is_bit_exact_with_its_ema_target(images, tmp_path):
    """3 iterations in one go == resuming the run's iteration-2 checkpoint for the last one
    (same max_iters: the EMA momentum anneals over it): online and target networks, the
    CosineEMA step counter, BN statistics."""
    def config(work: str):
        cfg = one_iteration_config(_pool_config('byol'), tmp_path / work, images,
                                   sizes={96: 32, 48: 16})
        cfg.train_cfg.max_iters = 3
        return cfg

    full = train_tiny(config('full')).model.state_dict()
    cfg = config('resumed')
    cfg.load_from, cfg.resume = str(tmp_path / 'full' / 'iter_2.pth'), True
    resumed = train_tiny(cfg).model.state_dict()
    assert int(resumed['target_net.steps']) == 3 and full.keys() == resumed.keys()
    for key in full:
        assert torch.equal(full[key], resumed[key]), key
