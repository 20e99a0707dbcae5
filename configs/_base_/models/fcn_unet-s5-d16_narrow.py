# CPU-sized UNet-S5-D16 + FCN head for the small real datasets: mmseg's fcn_unet_s5-d16 with 16
# base channels instead of 64 (the decoder's last stage has 16 channels, the auxiliary head reads
# the 32-channel one), plain BN, trained from scratch unless init_cfg loads a PCRL export.
# Inputs must be multiples of 16 (4 downsamplings): slide inference on 256 px windows.
# Set num_classes in the leaf.
_base_ = 'mmseg::_base_/models/fcn_unet_s5-d16.py'
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(base_channels=16, norm_cfg=norm_cfg),
    decode_head=dict(in_channels=16, channels=16, norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=32, channels=16, norm_cfg=norm_cfg),
    test_cfg=dict(mode='slide', crop_size=(256, 256), stride=(170, 170)))
