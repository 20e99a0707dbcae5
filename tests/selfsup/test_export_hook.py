"""``BackboneExportHook``: a pretraining run leaves ``<work_dir>/backbone.pth`` that the matching
transfer configs' backbones load strictly (equal tensors), the same file as the converter's."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope

from cl_dense.selfsup.export import save_backbone
from cl_dense.selfsup.export_hook import BackboneExportHook
from tests.conftest import PROJECT_ROOT
from tests.tool_loading import load_tool

from ..engine.runner_utils import train_tiny
from .zoo_config import TRANSFERS, tiny_pool_config

MOCOV2_POOL = PROJECT_ROOT / 'configs/detco/mocov2_resnet18-narrow_1xb16-1000it_shared-pool.py'


def test_hook_writes_a_backbone_the_transfer_configs_load_strictly(tmp_path):
    cfg = tiny_pool_config(MOCOV2_POOL, tmp_path, queue_size=8)
    assert dict(type='BackboneExportHook') in cfg.custom_hooks  # from selfsup_runtime.py
    runner = train_tiny(cfg)
    out = Path(cfg.work_dir) / 'backbone.pth'
    saved = torch.load(out, weights_only=True)
    assert saved['meta']['prefix'] == 'query_encoder.backbone.' and saved['meta']['iter'] == 1
    trained = runner.model.query_encoder.backbone.state_dict()
    for path in TRANSFERS:
        transfer = Config.fromfile(str(path))
        with DefaultScope.overwrite_default_scope(transfer.default_scope):
            target = MODELS.build(dict(transfer.model.backbone, init_cfg=None))
        result = target.load_state_dict(saved['state_dict'], strict=True)
        assert not result.missing_keys and not result.unexpected_keys, path.name
        for key, value in trained.items():
            assert torch.equal(target.state_dict()[key], value), (path.name, key)
    # the converter, run on the last checkpoint, writes the same tensors
    converter = load_tool('model_converters/detco_to_backbone.py')
    converted = converter.convert(str(Path(cfg.work_dir) / 'iter_1.pth'), str(tmp_path / 'c.pth'))
    assert converted.keys() == saved['state_dict'].keys()
    assert all(torch.equal(converted[k], saved['state_dict'][k]) for k in converted)


def test_save_backbone_finds_the_prefix_and_names_missing_entries(tmp_path):
    state = {'query_encoder.backbone.w': torch.ones(2), 'key_encoder.module.backbone.w':
             torch.zeros(2), 'query_encoder.head.w': torch.ones(1)}
    backbone = save_backbone(state, tmp_path / 'a' / 'b.pth', meta=dict(iter=3))
    assert list(backbone) == ['w'] and torch.equal(backbone['w'], torch.ones(2))
    saved = torch.load(tmp_path / 'a' / 'b.pth', weights_only=True)
    assert saved['meta'] == dict(iter=3, prefix='query_encoder.backbone.')
    with pytest.raises(ValueError, match='no backbone entries'):
        save_backbone({'head.w': torch.ones(1)}, tmp_path / 'c.pth')
    with pytest.raises(ValueError, match='filename'):
        BackboneExportHook(filename='')
