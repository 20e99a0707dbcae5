"""tools/model_converters/detco_to_backbone.py: the exported backbone loads into the same backbone
type of mmseg and mmdet with no missing or unexpected keys and computes what DetCo's query
backbone computes; a plain ResNet also exports to torchvision."""
import pytest
import torch
from mmengine.registry import MODELS

from tests.conftest import PROJECT_ROOT
from tests.selfsup.tiny import TINY_BACKBONE, multiview_batch, tiny_detco
from tests.tool_loading import load_tool

converter = load_tool('model_converters/detco_to_backbone.py')


def _trained_checkpoint(tmp_path, **overrides):
    """A DetCo after one SGD step (BN statistics and weights moved), saved like the Runner does."""
    from mmengine.optim import OptimWrapper

    model = tiny_detco(**overrides)
    model.train_step(multiview_batch(), OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1)))
    path = tmp_path / 'iter_1.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {'iter': 1}}, path)
    return model, path


def _outputs(backbone, images):
    backbone.eval()
    with torch.no_grad():
        return backbone(images)


@pytest.mark.parametrize('target', [
    dict(TINY_BACKBONE),
    dict(type='mmdet.ResNet', depth=18, deep_stem=True, stem_channels=8, base_channels=8,
         out_indices=(0, 1, 2, 3))], ids=['mmseg.ResNetV1c', 'mmdet.ResNet-deep-stem'])
def test_exported_backbone_loads_strictly_and_matches_the_query_backbone(tmp_path, target):
    model, ckpt = _trained_checkpoint(tmp_path)
    out = tmp_path / 'backbone.pth'
    converter.main([str(ckpt), str(out)])
    saved = torch.load(out, weights_only=True)
    assert saved['meta']['iter'] == 1
    fresh = MODELS.build(target)
    result = fresh.load_state_dict(saved['state_dict'], strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    # the transfer configs' path: init_cfg=dict(type='Pretrained', checkpoint=...)
    via_init = MODELS.build(dict(target, init_cfg=dict(type='Pretrained', checkpoint=str(out))))
    via_init.init_weights()
    images = torch.randn(2, 3, 32, 32)
    want = _outputs(model.query_encoder.backbone, images)
    for got in (_outputs(fresh, images), _outputs(via_init, images)):
        for a, b in zip(got, want):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_plain_resnet_exports_to_torchvision_with_equal_features(tmp_path):
    import torchvision

    backbone = dict(type='mmseg.ResNet', depth=18, out_indices=(0, 1, 2, 3))
    model, ckpt = _trained_checkpoint(tmp_path, backbone=backbone)
    tv_path = tmp_path / 'tv.pth'
    converter.main([str(ckpt), str(tmp_path / 'mm.pth'), '--torchvision', str(tv_path)])
    tv = torchvision.models.resnet18(weights=None)
    result = tv.load_state_dict(torch.load(tv_path, weights_only=True), strict=False)
    assert sorted(result.missing_keys) == ['fc.bias', 'fc.weight'] and not result.unexpected_keys
    tv.eval()
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        x = tv.maxpool(tv.relu(tv.bn1(tv.conv1(images))))
        feats = []
        for layer in (tv.layer1, tv.layer2, tv.layer3, tv.layer4):
            x = layer(x)
            feats.append(x)
    for a, b in zip(feats, _outputs(model.query_encoder.backbone, images)):
        torch.testing.assert_close(a, b)


def test_prefix_is_found_or_given(tmp_path):
    """``query_encoder.backbone.`` first; the plain ``backbone.`` of mmpretrain models and
    segmentors; any other prefix with ``--prefix``; the key encoder is never exported."""
    model, _ = _trained_checkpoint(tmp_path)
    backbone = model.query_encoder.backbone.state_dict()
    with_key_encoder = {**{f'query_encoder.backbone.{k}': v for k, v in backbone.items()},
                        **{f'backbone.{k}': torch.zeros_like(v) for k, v in backbone.items()}}
    layouts = {'ours.pth': (with_key_encoder, []),
               'segmentor.pth': ({f'backbone.{k}': v for k, v in backbone.items()}, []),
               'online.pth': ({f'online_net.0.{k}': v for k, v in backbone.items()},
                              ['--prefix', 'online_net.0.'])}
    for name, (state_dict, extra) in layouts.items():
        torch.save({'state_dict': state_dict}, tmp_path / name)
        converter.main([str(tmp_path / name), str(tmp_path / f'out-{name}'), *extra])
        saved = torch.load(tmp_path / f'out-{name}', weights_only=True)['state_dict']
        assert saved.keys() == backbone.keys(), name
        for key, value in backbone.items():
            assert torch.equal(saved[key], value), (name, key)


def test_unsupported_exports_are_clear_errors(tmp_path):
    _, ckpt = _trained_checkpoint(tmp_path)
    with pytest.raises(SystemExit, match='plain ResNet'):
        converter.main([str(ckpt), str(tmp_path / 'a.pth'), '--torchvision', str(tmp_path / 'b')])
    torch.save({'state_dict': {'decode_head.conv.weight': torch.zeros(1)}}, tmp_path / 'seg.pth')
    with pytest.raises(SystemExit, match='no backbone entries .*give --prefix'):
        converter.main([str(tmp_path / 'seg.pth'), str(tmp_path / 'c.pth')])
    with pytest.raises(SystemExit, match='no "encoder.\\*" entries'):
        converter.main([str(ckpt), str(tmp_path / 'd.pth'), '--prefix', 'encoder.'])
    narrow = {f'{k}': v for k, v in MODELS.build(dict(type='mmseg.ResNet', depth=18,
                                                      base_channels=8)).state_dict().items()}
    with pytest.raises(ValueError, match='64 base'):
        converter.to_torchvision(narrow)


@pytest.mark.parametrize('transfer', [
    'deeplabv3_r18-tiny-d8_detco-shared-pool_1xb4-200it_isbi-em-256x256.py',
    'deeplabv3_r18-tiny-d8_detco-shared-pool_1xb4-200it_aerial-dubai-256x256.py',
    'faster-rcnn_r18-tiny_fpn_detco-shared-pool_1xb2-300it_bccd.py'])
def test_shared_pool_backbone_loads_strictly_into_the_transfer_configs(tmp_path, transfer):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    pool = Config.fromfile(str(PROJECT_ROOT / 'configs/detco/'
                               'detco_resnet18-narrow_1xb16-1000it_shared-pool.py'))
    pool.model.queue_size = 4
    detco = MODELS.build(pool.model)
    torch.save({'state_dict': detco.state_dict()}, tmp_path / 'pool.pth')
    backbone = converter.convert(str(tmp_path / 'pool.pth'), str(tmp_path / 'backbone.pth'))
    cfg = Config.fromfile(str(PROJECT_ROOT / 'configs/detco/transfer' / transfer))
    assert cfg.model.backbone.init_cfg == dict(type='Pretrained', checkpoint=(
        'work_dirs/detco_resnet18-narrow_1xb16-1000it_shared-pool/backbone.pth'))
    init_default_scope(cfg.default_scope)
    target = MODELS.build(dict(cfg.model.backbone, init_cfg=None))
    result = target.load_state_dict(backbone, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
