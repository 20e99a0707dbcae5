# CPU-sized Faster R-CNN on BCCD (3 classes) with the narrow deep-stem ResNet-18 of the DetCo
# shared-pool pretraining (mmdet's ResNet with deep_stem=True has ResNetV1c's layout), random init.
# The DetCo-initialised variant: faster-rcnn_r18-tiny_fpn_detco-shared-pool_1xb2-300it_bccd.py.
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py']
data_root = '../shared/data/bccd/'
metainfo = dict(classes=('RBC', 'WBC', 'Platelets'))
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(depth=18, deep_stem=True, stem_channels=16, base_channels=16, frozen_stages=-1,
                  norm_cfg=norm_cfg, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(bbox_roi_extractor=dict(out_channels=64),
                  bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=3)))
image_scale = (320, 240)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                                          'scale_factor')),
]
train_dataloader = dict(
    batch_size=2, num_workers=2, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True), batch_sampler=None,
    dataset=dict(data_root=data_root, metainfo=metainfo, ann_file='coco_derived/bccd_train.json',
                 data_prefix=dict(img='BCCD/JPEGImages/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2, num_workers=2, persistent_workers=True,
    dataset=dict(data_root=data_root, metainfo=metainfo, ann_file='coco_derived/bccd_val.json',
                 data_prefix=dict(img='BCCD/JPEGImages/'), pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'coco_derived/bccd_val.json', metric='bbox')
test_evaluator = val_evaluator
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=300, val_interval=300)
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
                   dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=50, end=300)]
optim_wrapper = dict(optimizer=dict(lr=0.01))
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=300), logger=dict(interval=50))
log_processor = dict(by_epoch=False)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
