"""The GLCNet model: features are the decode head's before conv_seg, matched windows of the two
views agree where they should, both losses train every part, degenerate batches give finite
losses, bad inputs clear errors."""
import pytest
import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import MODELS

from cl_dense.selfsup.glcnet import OverlappingViews, matched_windows

from .tiny import TINY_SEGMENTOR, paired_batch, tiny_glcnet


def test_features_are_the_decode_heads_before_conv_seg():
    model = tiny_glcnet().eval()
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        got = model(images)
        want = model.decode_head._forward_feature(model.backbone(images))  # mmseg's own path
    assert got.shape == (2, 16, 4, 4)
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    assert 'decode_head.conv_seg.weight' not in model.state_dict()
    assert any(k.startswith('backbone.layer4.') for k in model.state_dict())


def test_matched_windows_see_the_same_source_pixels_under_flips_and_turns():
    """With features = the source coordinates of each pixel (stride 1), the mean over a 3x3
    window around matched pixels is the same in both views, whatever the flips and turns."""
    torch.manual_seed(0)
    transform = OverlappingViews(16)
    coords = torch.stack([transform(dict(img=torch.zeros(3, 30, 30, dtype=torch.uint8)))
                          ['inputs']['coords'] for _ in range(6)])        # [B, 2, 2, S, S]
    local = matched_windows(coords.float(), coords, num=5, window=3)
    assert local.shape == (30, 2, 2)
    torch.testing.assert_close(local[:, 0], local[:, 1], rtol=0, atol=1e-6)
    assert len({tuple(v.tolist()) for v in local[:, 0]}) == 30  # distinct windows


def test_loss_trains_backbone_decoder_and_both_heads():
    model = tiny_glcnet()
    data = model.data_preprocessor(paired_batch(), True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_global', 'loss_local', 'local_pairs'}
    assert float(losses['local_pairs']) == 4.0  # K = 4 matches per sample
    assert all(torch.isfinite(losses[k]) and losses[k] > 0 for k in ('loss_global', 'loss_local'))
    (losses['loss_global'] + losses['loss_local']).backward()
    for name in ('backbone.stem.0.weight', 'decode_head.bottleneck.conv.weight',
                 'global_head.mlp.0.weight', 'local_head.mlp.0.weight'):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name


def test_a_few_steps_lower_the_loss_on_a_fixed_batch():
    torch.manual_seed(0)
    model = tiny_glcnet()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9))
    data = paired_batch(seed=1)
    totals = [model.train_step(data, optim)['loss'].item() for _ in range(8)]
    assert totals[-1] < totals[0] - 0.1, totals


def test_disjoint_views_give_a_zero_local_loss_with_gradient_path():
    model = tiny_glcnet()
    data = model.data_preprocessor(paired_batch(batch=2), True)
    data['inputs']['coords'][:, 1] += 1000  # view 2 no longer overlaps view 1
    losses = model(**data, mode='loss')
    assert float(losses['local_pairs']) == 0 and losses['loss_local'].item() == 0
    assert losses['loss_local'].requires_grad and torch.isfinite(losses['loss_global'])
    (losses['loss_global'] + losses['loss_local']).backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_one_matched_pair_and_one_sample_stay_finite():
    model = tiny_glcnet(num_matches=1)
    data = model.data_preprocessor(paired_batch(batch=1), True)
    losses = model(**data, mode='loss')
    assert float(losses['local_pairs']) == 1
    total = losses['loss_global'] + losses['loss_local']
    assert torch.isfinite(total) and total.item() == pytest.approx(0, abs=1e-5)  # no negative
    total.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_bad_inputs_and_arguments_are_clear_errors():
    model = tiny_glcnet()
    data = model.data_preprocessor(paired_batch(batch=2), True)['inputs']
    with pytest.raises(ValueError, match=r"lack \['coords'\]"):
        model({'views': data['views']}, mode='loss')
    with pytest.raises(ValueError, match='coords.*must be'):
        model({'views': data['views'], 'coords': data['coords'][:, :, :, :8]}, mode='loss')
    with pytest.raises(ValueError, match=r'\[B, 2, C, S, S\]'):
        model({'views': data['views'][:, 0], 'coords': data['coords']}, mode='loss')
    with pytest.raises(ValueError, match='odd window'):
        tiny_glcnet(window=2)
    with pytest.raises(ValueError, match='not an mmseg decode head'):
        MODELS.build(dict(type='GLCNet', segmentor=dict(
            TINY_SEGMENTOR, decode_head=dict(type='mmseg.ResNetV1c', depth=18))))
    with pytest.raises(ValueError, match='mode'):
        model(data, mode='predict')


def test_deeplabv3plus_decoder_features_at_stride_4():
    segmentor = dict(TINY_SEGMENTOR, decode_head=dict(
        type='DepthwiseSeparableASPPHead', in_channels=64, in_index=3, channels=16,
        dilations=(1, 2), c1_in_channels=8, c1_channels=8, num_classes=2,
        norm_cfg=TINY_SEGMENTOR['decode_head']['norm_cfg']))
    model = tiny_glcnet(segmentor=segmentor, window=3)
    data = model.data_preprocessor(paired_batch(batch=2), True)
    assert model(data['inputs']['views'][:, 0]).shape == (2, 16, 8, 8)
    losses = model(**data, mode='loss')
    assert torch.isfinite(losses['loss_local']) and float(losses['local_pairs']) == 4


def test_segmentor_pretrained_initialises_the_backbone(tmp_path):
    source = tiny_glcnet()
    torch.save({'state_dict': source.backbone.state_dict()}, tmp_path / 'backbone.pth')
    model = tiny_glcnet(segmentor=dict(TINY_SEGMENTOR, pretrained=str(tmp_path / 'backbone.pth')))
    for key, value in source.backbone.state_dict().items():
        assert torch.equal(model.backbone.state_dict()[key], value), key


def test_tensor_mode_takes_the_first_view_of_packed_inputs_and_other_modes_raise():
    model = tiny_glcnet().eval()
    inputs = model.data_preprocessor(paired_batch(), True)['inputs']
    with torch.no_grad():
        got = model(inputs, mode='tensor')
        want = model(inputs['views'][:, 0], mode='tensor')
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    with pytest.raises(ValueError, match='GLCNet supports mode'):
        model(inputs, mode='predict')
