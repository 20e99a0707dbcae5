# mmseg's PointRend (CascadeEncoderDecoder: FPN head, then a point head on sampled points), an
# 8-channel ResNetV1c-18 with a 16-channel FPN; the projection head embeds FPN level 0.
_base_ = ['mmseg::_base_/models/pointrend_r50.py']
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(depth=18, stem_channels=8, base_channels=8),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=16),
    decode_head=[
        dict(type='FPNHead', in_channels=[16, 16, 16, 16], in_index=[0, 1, 2, 3],
             feature_strides=[4, 8, 16, 32], channels=8, dropout_ratio=-1, num_classes=5,
             norm_cfg=norm_cfg, align_corners=False,
             loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
        dict(type='PointHead', in_channels=[16], in_index=[0], channels=16, num_fcs=3,
             coarse_pred_each_layer=True, dropout_ratio=-1, num_classes=5, align_corners=False,
             loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    ],
    train_cfg=dict(num_points=64),
    test_cfg=dict(subdivision_num_points=64))
contrast_head = dict(in_channels=16, in_index=0)  # stride 4
