# mmseg's EncNet (its decode head returns (logits, SE-loss class scores) with use_se_loss), an
# 8-channel ResNetV1c-18-D8.
_base_ = ['mmseg::_base_/models/encnet_r50-d8.py']
model = dict(
    backbone=dict(depth=18, stem_channels=8, base_channels=8),
    decode_head=dict(in_channels=[16, 32, 64], channels=16, num_codes=8),
    auxiliary_head=dict(in_channels=32, channels=8))
contrast_head = dict(in_channels=64, in_index=3)  # stage 4, stride 8
