# CPU-sized Faster R-CNN for the real splits in ../shared/data: a ResNet-18 FPN with 16 base channels
# trained from scratch, ORE's open-world head and RoI head (unknown pseudo ground truth), ORE's
# clustering schedule scaled to a few hundred iterations (our choice). A dataset config sets
# data_root, the annotation files, `task`, num_classes (= len(task classes) + 1) and
# num_known_classes. `plain_bbox_head` holds the base head's settings.
_base_ = ['mmdet::_base_/models/faster-rcnn_r50_fpn.py', 'mmdet::_base_/default_runtime.py']
custom_imports = dict(imports=['cl_dense.det'], allow_failed_imports=False)
plain_bbox_head = dict(
    type='Shared2FCBBoxHead', in_channels=64, fc_out_channels=256, roi_feat_size=7,
    bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.],
                    target_stds=[0.1, 0.1, 0.2, 0.2]),
    reg_class_agnostic=False,
    loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
    loss_bbox=dict(type='L1Loss', loss_weight=1.0))
# clustering schedule for runs of a few hundred iterations (our choice; ORE: prototypes from
# iteration 1000, updated every 3000 with momentum 0.99 over ~90k): prototypes from 10 % of the
# run, updated every 2 % of it with momentum 0.9, so they keep following the features instead of
# being taken once from a barely trained network. compare_ore.py rescales start_iter and
# update_mu_iter with --iters; a background prototype as in ORE's code.
ore_clustering = dict(items_per_class=20, start_iter=30, update_mu_iter=6, momentum=0.9,
                      background_prototype=True,
                      loss=dict(type='PrototypeClusteringLoss', margin=10.0, form='paper',
                                loss_weight=0.1))
model = dict(
    backbone=dict(depth=18, base_channels=16, init_cfg=None,
                  norm_cfg=dict(type='BN', requires_grad=True)),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(
        type='OpenWorldRoIHead', num_unknown=1, unknown_iou_thr=0.5,
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(plain_bbox_head, _delete_=True, type='OpenWorldShared2FCBBoxHead',
                       clustering=ore_clustering, energy_temperature=1.5,
                       ebui=dict(mode='off', weibull_file=None, rule=None),
                       regress_unknown=False)))
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
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
                                                'source_labels')),
]
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='OpenWorldCocoDataset', labels='current',
                 filter_cfg=dict(filter_empty_gt=True), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='OpenWorldCocoDataset', labels='open', test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='OpenWorldMetric', iou_thr=0.5, ap_mode='11points')
test_evaluator = val_evaluator
train_cfg = dict(type='IterBasedTrainLoop', max_iters=300, val_interval=300)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=300, milestones=[250], gamma=0.1)]
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001),
                     clip_grad=dict(max_norm=10.0))
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=300), logger=dict(interval=25))
log_processor = dict(by_epoch=False)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
