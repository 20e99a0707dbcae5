# CPU-sized DeepLabV3 for the small real datasets: a narrow ResNetV1c-18 (16 base channels instead
# of 64, so stage 4 has 128; dilated, output stride 8) trained from scratch (no pretrained weights,
# nothing is downloaded), with plain BN. About 16x fewer FLOPs than the R-18-D8 of mmseg.
# Set num_classes in the leaf.
_base_ = 'mmseg::_base_/models/deeplabv3_r50-d8.py'
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    pretrained=None,
    backbone=dict(depth=18, stem_channels=16, base_channels=16, norm_cfg=norm_cfg),
    decode_head=dict(in_channels=128, channels=64, norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=64, channels=32, norm_cfg=norm_cfg))
