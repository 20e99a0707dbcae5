# CE baseline of the pixel contrast comparison (tools/analysis_tools/compare_pixel_contrast.py):
# the narrow DeepLabV3 R-18-D8 with its backbone initialised from MoCo v2 pretrained on the
# unlabelled pool (the stand-in for the paper's ImageNet start; the pool leaves out the tuning
# and held-out tiles 7 and 8), fine-tuned on aerial_dubai tiles 1-6, validated on tile 7 every
# 1/8 of the schedule (curves), tested on tile 8 (tools/test.py; final numbers only).
# Sized for 2 CPU cores: images resized to ~256 px on the long side (half of ../_base_/datasets/
# aerial_dubai.py), 128 x 128 crops (the same field of view as its 256 crops at 512 px), 300
# iterations; metrics are computed at the original resolution.
# The comparison script writes the backbone and passes its path; by hand:
#   python tools/analysis_tools/compare_pixel_contrast.py --stage pretrain
_base_ = [
    '../_base_/models/deeplabv3_r18-tiny-d8.py',
    '../_base_/datasets/aerial_dubai_heldout.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/schedule_200it_adamw.py',
]
custom_imports = dict(imports=['cl_dense.seg'], allow_failed_imports=False)
crop_size = (128, 128)
scale = (256, 256)
iters = 300
pretrained_backbone = 'work_dirs/compare_pixel_contrast/pretrain/backbone.pth'
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=pretrained_backbone)),
    decode_head=dict(num_classes=6),
    auxiliary_head=dict(num_classes=6))
param_scheduler = [dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters, val_interval=iters // 8)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=iters,
                                     max_keep_ckpts=1),
                     logger=dict(type='LoggerHook', interval=20, log_metric_by_epoch=False))
log_processor = dict(by_epoch=False)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadColorMaskAnnotations'),
    dict(type='RandomResize', scale=scale, ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='LoadColorMaskAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
