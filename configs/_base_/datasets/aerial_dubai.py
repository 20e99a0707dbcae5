# Aerial imagery of Dubai: 6 classes from RGB colour masks (black = ignore), decoded on load.
# Fixed split by tile: train = tiles 1-7 (63 images), val = tile 8 (9 images).
# The images (509x544 .. 2149x1480) are resized to ~512 px on the long side.
# data_root is relative to the project root; override with
#   --cfg-options train_dataloader.dataset.data_root=... val_dataloader.dataset.data_root=...
dataset_type = 'AerialDubaiDataset'
data_root = '../shared/data/aerial_dubai'
crop_size = (256, 256)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadColorMaskAnnotations'),
    dict(type='RandomResize', scale=(512, 512), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(512, 512), keep_ratio=True),
    # ground truth is loaded after Resize: metrics are computed at the original resolution
    dict(type='LoadColorMaskAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
