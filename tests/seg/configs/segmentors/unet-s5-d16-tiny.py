# mmseg's UNet-S5-D16 + FCN with its auxiliary head, 8 base channels; the projection head
# embeds the decoder level before the last (16 channels, stride 2).
_base_ = ['mmseg::_base_/models/fcn_unet_s5-d16.py']
model = dict(
    backbone=dict(base_channels=8),
    decode_head=dict(in_channels=8, channels=8),
    auxiliary_head=dict(in_channels=16, channels=8),
    test_cfg=dict(_delete_=True, mode='whole'))
contrast_head = dict(in_channels=16, in_index=3)
