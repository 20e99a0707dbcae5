"""configs/pcrl: each pretraining config runs one CPU iteration (tiny overrides) and its export
(tools/model_converters/detco_to_backbone.py) loads strictly into the UNet of its fine-tuning
config and reproduces the pretrained UNet's outputs; the fine-tuning configs run one iteration on
the real data from the export."""
import itertools
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from tests.conftest import PROJECT_ROOT
from tests.engine.runner_utils import train_tiny
from tests.selfsup.folder import make_image_folder
from tests.tool_loading import load_tool

converter = load_tool('model_converters/detco_to_backbone.py')
CONFIGS = PROJECT_ROOT / 'configs/pcrl'
# pretraining config -> its fine-tuning config (which loads the export)
PAIRS = {
    'pcrl_unet-s5-d16_1xb8-800it_isbi-em.py':
        'fcn_unet-s5-d16_pcrl-isbi-em_1xb4-200it_isbi-em-256x256.py',
    'pcrl_unet-s5-d16_1xb8-800it_aerial-dubai.py':
        'fcn_unet-s5-d16_pcrl-aerial-dubai_1xb4-200it_aerial-dubai-256x256.py',
    'pcrl_unet-s5-d16_8xb32-20k_synapse.py':
        'fcn_unet-s5-d16_pcrl-synapse_4xb4-40k_synapse-224x224.py',
}
_runs = itertools.count()


def _tiny_pretraining(name: str, work_dir: Path, data_root: Path) -> Config:
    """The config with 32 px views, batch 2, a queue of 8, one iteration, no workers."""
    cfg = Config.fromfile(str(CONFIGS / name))
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'pcrl_{next(_runs)}'
    loader = cfg.train_dataloader
    loader.update(batch_size=2, num_workers=0, persistent_workers=False)
    loader.dataset.update(data_root=str(data_root), sub_dirs=[''])
    crop = loader.dataset.pipeline[1].views[0].pipeline[0].transforms[0]
    assert crop.type == 'RandomResizedCrop'
    crop.size = 32
    cfg.model.queue_size = 8
    cfg.train_cfg.max_iters = 1
    cfg.default_hooks.checkpoint.interval = 1
    cfg.default_hooks.logger.interval = 1
    return cfg


def _fine_tuning_model(name: str, checkpoint: Path):
    from mmseg.registry import MODELS

    import cl_dense.seg  # noqa: F401

    cfg = Config.fromfile(str(CONFIGS / name))
    cfg.model.backbone.init_cfg.checkpoint = str(checkpoint)
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


@pytest.fixture(scope='module')
def exports(tmp_path_factory) -> dict:
    """Pretrain each config one iteration and export it: name -> (runner, backbone.pth)."""
    tmp = tmp_path_factory.mktemp('pcrl')
    data = make_image_folder(tmp / 'images', count=4, side=48)
    out = {}
    for name in PAIRS:
        work = tmp / name.removesuffix('.py')
        runner = train_tiny(_tiny_pretraining(name, work, data))
        losses = runner.message_hub.get_scalar('train/loss').data[0]
        assert len(losses) == 1 and torch.isfinite(torch.tensor(float(losses[0])))
        backbone = work / 'backbone.pth'
        converter.main([str(work / 'iter_1.pth'), str(backbone)])
        out[name] = runner, backbone
    return out


@pytest.mark.parametrize('name', list(PAIRS))
def test_export_loads_strictly_into_the_fine_tuning_unet(exports, name):
    runner, backbone = exports[name]
    pretrained = runner.model.query_encoder.backbone
    saved = torch.load(backbone, weights_only=True)['state_dict']
    model = _fine_tuning_model(PAIRS[name], backbone)
    result = model.backbone.load_state_dict(saved, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert set(saved) == set(pretrained.state_dict())
    pretrained.eval()
    model.backbone.eval()
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        want, got = pretrained(images), model.backbone(images)
    assert len(want) == len(got) == pretrained.num_stages
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.realdata
@pytest.mark.parametrize('name', list(PAIRS)[:2])
def test_fine_tuning_config_trains_one_iteration_from_the_export(exports, name, shared_data,
                                                                 tmp_path):
    cfg = Config.fromfile(str(CONFIGS / PAIRS[name]))
    cfg.work_dir = str(tmp_path)
    cfg.experiment_name = f'pcrl_ft_{next(_runs)}'
    cfg.model.backbone.init_cfg.checkpoint = str(exports[name][1])
    dataset = Path(cfg.train_dataloader.dataset.data_root).name
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].update(num_workers=0, persistent_workers=False)
        cfg[key].dataset.data_root = str(shared_data / dataset)
    cfg.train_dataloader.batch_size = 2
    cfg.train_cfg.update(max_iters=1, val_interval=10)
    cfg.default_hooks.checkpoint.interval = 10
    cfg.param_scheduler[0].end = 1
    saved = torch.load(exports[name][1], weights_only=True)['state_dict']
    runner = train_tiny(cfg)
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert len(losses) == 1 and torch.isfinite(torch.tensor(float(losses[0])))
    # the UNet started from the export: one AdamW step (lr 2e-3) moves weights by ~lr at most
    conv = 'encoder.0.0.convs.0.conv.weight'
    moved = (runner.model.backbone.state_dict()[conv] - saved[conv]).abs().max()
    assert 0 < moved < 1e-2
