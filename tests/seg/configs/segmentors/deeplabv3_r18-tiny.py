# mmseg's DeepLabV3 (ResNetV1c-D8 + ASPP + FCN auxiliary), an 8-channel ResNetV1c-18.
_base_ = ['mmseg::_base_/models/deeplabv3_r50-d8.py']
model = dict(
    backbone=dict(depth=18, stem_channels=8, base_channels=8),
    decode_head=dict(in_channels=64, channels=16, dilations=(1, 2, 3, 4)),
    auxiliary_head=dict(in_channels=32, channels=8))
contrast_head = dict(in_channels=64, in_index=3)  # stage 4, stride 8
