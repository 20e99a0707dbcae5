"""The GLCNet CPU configs: each runs one training iteration with the Runner (shrunk: 32 px views,
batch 2, generated images) and its exported backbone (tools/model_converters/detco_to_backbone.py,
prefix ``backbone.``) loads strictly into the DetCo transfer config of the same dataset."""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

from tests.conftest import PROJECT_ROOT
from tests.tool_loading import load_tool

from ...engine.runner_utils import train_tiny
from ..folder import make_image_folder

converter = load_tool('model_converters/detco_to_backbone.py')
CONFIGS = {
    'aerial-dubai': 'glcnet_deeplabv3_r18-tiny-d8_1xb8-300it_aerial-dubai.py',
    'isbi-em': 'glcnet_deeplabv3_r18-tiny-d8_1xb8-300it_isbi-em.py'}
NARROW_R50 = dict(stem_channels=16, base_channels=8)
TRANSFER = 'configs/detco/transfer/deeplabv3_r18-tiny-d8_detco-shared-pool_1xb4-200it_{}-256x256.py'


def shrunk(name: str, tmp_path) -> Config:
    cfg = Config.fromfile(str(PROJECT_ROOT / 'configs/glcnet' / CONFIGS[name]))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.experiment_name = f'glcnet_{name}_{tmp_path.name}'
    pipeline = cfg.train_dataloader.dataset.pipeline
    assert [t.type for t in pipeline] == ['LoadImage', 'TorchvisionAugment', 'OverlappingViews']
    pipeline[1].transforms[0].update(min_size=40, max_size=48)
    pipeline[2].crop_size = 32
    cfg.train_dataloader.update(batch_size=2, num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.update(data_root=str(make_image_folder(tmp_path / 'images', 4)),
                                        sub_dirs=[''])
    cfg.model.num_matches = 4
    cfg.train_cfg.max_iters = cfg.param_scheduler[0].end = cfg.param_scheduler[0].T_max = 1
    cfg.default_hooks.checkpoint.interval = cfg.default_hooks.logger.interval = 1
    return cfg


@pytest.mark.parametrize('name', list(CONFIGS))
def test_config_runs_one_iteration_and_its_backbone_loads_into_the_transfer_config(name,
                                                                                  tmp_path):
    runner = train_tiny(shrunk(name, tmp_path))
    logged = {k: float(v.current()) for k, v in runner.message_hub.log_scalars.items()}
    assert logged['train/loss_global'] > 0 and logged['train/loss_local'] > 0
    assert logged['train/local_pairs'] == 4
    backbone = converter.convert(str(tmp_path / 'work' / 'iter_1.pth'),
                                 str(tmp_path / 'backbone.pth'))
    transfer = Config.fromfile(str(PROJECT_ROOT / TRANSFER.format(name)))
    init_default_scope(transfer.default_scope)
    result = MODELS.build(dict(transfer.model.backbone, init_cfg=None)).load_state_dict(
        backbone, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    # the transfer config's own path: init_cfg=Pretrained with the exported file
    target = MODELS.build(dict(transfer.model.backbone, init_cfg=dict(
        type='Pretrained', checkpoint=str(tmp_path / 'backbone.pth'))))
    target.init_weights()
    trained = runner.model.backbone.state_dict()
    assert trained.keys() == target.state_dict().keys()
    for key, value in target.state_dict().items():
        assert torch.equal(value, trained[key]), key


def test_full_size_config_trains_one_step_and_exports_into_its_transfer_config(tmp_path):
    """The R-50 DeepLabV3+ Potsdam config on the CPU: BN instead of SyncBN, 32 px views and all
    widths / 8 (same depth, so the same state-dict keys; the transfer backbone narrowed alike)."""
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import OptimWrapper
    from mmengine.registry import DATASETS

    cfg = Config.fromfile(str(PROJECT_ROOT / 'configs/glcnet/'
                                             'glcnet_deeplabv3plus_r50-d8_4xb16-40k_potsdam.py'))
    assert cfg.model.segmentor.pretrained is None  # ImageNet-free
    init_default_scope(cfg.default_scope)
    bn = dict(type='BN', requires_grad=True)
    cfg.model.segmentor.backbone.update(NARROW_R50, norm_cfg=bn)
    cfg.model.segmentor.decode_head.update(in_channels=256, c1_in_channels=32, channels=32,
                                           c1_channels=8, norm_cfg=bn)
    cfg.model.num_matches = 4
    model = MODELS.build(cfg.model)
    pipeline = cfg.train_dataloader.dataset.pipeline
    pipeline[1].transforms[0].update(min_size=40, max_size=48)
    pipeline[2].crop_size = 32
    dataset = DATASETS.build(dict(cfg.train_dataloader.dataset, sub_dirs=[''],
                                  data_root=str(make_image_folder(tmp_path / 'images', 2))))
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    losses = model.train_step(pseudo_collate([dataset[0], dataset[1]]), optim)
    assert torch.isfinite(losses['loss']) and float(losses['local_pairs']) == 4
    torch.save({'state_dict': model.state_dict()}, tmp_path / 'glcnet.pth')
    backbone = converter.convert(str(tmp_path / 'glcnet.pth'), str(tmp_path / 'backbone.pth'))
    transfer = Config.fromfile(str(PROJECT_ROOT / 'configs/glcnet/transfer/'
                                   'deeplabv3plus_r50-d8_glcnet_4xb4-80k_potsdam-512x512.py'))
    assert transfer.model.pretrained is None
    assert transfer.model.backbone.init_cfg.type == 'Pretrained'
    init_default_scope(transfer.default_scope)
    target = MODELS.build(dict(transfer.model.backbone, init_cfg=None, **NARROW_R50))
    result = target.load_state_dict(backbone, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    for key, value in target.state_dict().items():
        assert torch.equal(value, model.backbone.state_dict()[key]), key
