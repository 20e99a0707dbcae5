# mmseg's UPerNet with its FCN auxiliary head, an 8-channel ResNetV1c-18.
_base_ = ['mmseg::_base_/models/upernet_r50.py']
model = dict(
    backbone=dict(depth=18, stem_channels=8, base_channels=8),
    decode_head=dict(in_channels=[8, 16, 32, 64], channels=16),
    auxiliary_head=dict(in_channels=32, channels=8))
contrast_head = dict(in_channels=[8, 16], in_index=[0, 1])  # stages 1-2, stride 4
