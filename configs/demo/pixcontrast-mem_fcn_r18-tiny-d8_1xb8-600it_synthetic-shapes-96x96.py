# The README demo: a narrow ResNetV1c-18 (output stride 8) + FCN head, trained with cross-entropy plus
# ContrastiveSeg's memory pixel contrast (pixel-to-pixel and pixel-to-region) on the built-in
# SyntheticShapes dataset (generated on first use, no download). Validates at iterations 300 and
# 600, printing per-class IoU and mIoU.
_base_ = [
    'mmseg::_base_/default_runtime.py',
    '../_base_/datasets/synthetic_shapes.py',
]
custom_imports = dict(imports=['cl_dense.seg'], allow_failed_imports=False)
num_classes = 5
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size=(96, 96))
model = dict(
    type='ContrastEncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNetV1c', depth=18, stem_channels=16, base_channels=16, num_stages=4,
        out_indices=(0, 1, 2, 3), dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg, norm_eval=False, style='pytorch', contract_dilation=True),
    decode_head=dict(
        type='FCNHead', in_channels=128, in_index=3, channels=64, num_convs=2, concat_input=True,
        dropout_ratio=0.1, num_classes=num_classes, norm_cfg=norm_cfg, align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    # training only: projection head + memory contrast; inference is the plain EncoderDecoder
    contrast_head=dict(type='ContrastProjectionHead', in_channels=128, in_index=3, proj_dim=64),
    contrast_loss=dict(
        type='PixelMemoryContrastLoss', proj_dim=64, memory_size=1000, pixel_update_freq=10,
        temperature=0.1, base_temperature=0.07, max_samples=512, max_views=50, loss_weight=0.1),
    contrast_warmup_iters=100,
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=2e-3, betas=(0.9, 0.999), weight_decay=1e-4))
param_scheduler = [dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=600, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=600, val_interval=300)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=600),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)
