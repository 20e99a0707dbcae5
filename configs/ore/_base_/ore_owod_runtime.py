# Everything but the detector for ORE on ORE's VOC-format OWOD release
# (data/OWOD/VOC2007/{JPEGImages,Annotations,ImageSets/Main/{t1_train,t2_train,t2_ft,...,
# all_task_test}.txt}): data, open-world evaluation, schedule, and ORE's head/sampler settings
# (ore_head, ore_roi_head) for the architecture files. A task config sets `task`, the head's
# num_known_classes, the train list and (for t > 1) load_from.
_base_ = ['mmdet::_base_/default_runtime.py', './owod_tasks.py']
custom_imports = dict(imports=['cl_dense.det'], allow_failed_imports=False)
data_root = 'data/OWOD/'
ore_clustering = dict(items_per_class=20, start_iter=1000, update_mu_iter=3000, momentum=0.99,
                      background_prototype=True,
                      loss=dict(type='PrototypeClusteringLoss', margin=10.0, form='paper',
                                loss_weight=0.1))
ore_head = dict(num_classes=81, clustering=ore_clustering, energy_temperature=1.5,
                ebui=dict(mode='off', weibull_file=None, rule=None), regress_unknown=False)
# unknown pseudo ground truth: the top-1 proposal by RPN objectness among all proposals with
# IoU < 0.5 to every known ground truth, per image
ore_roi_head = dict(type='OpenWorldRoIHead', num_unknown=1, unknown_iou_thr=0.5)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomChoiceResize', scales=[(1333, 480), (1333, 512), (1333, 544), (1333, 576),
                                             (1333, 608), (1333, 640), (1333, 672), (1333, 704),
                                             (1333, 736), (1333, 768), (1333, 800)], keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
                                                'source_labels')),
]
owod_dataset = dict(type='OpenWorldVOCDataset', data_root=data_root,
                    data_prefix=dict(sub_data_root='VOC2007/'))
train_dataloader = dict(
    batch_size=2, num_workers=2, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True), batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(owod_dataset, labels='current', filter_cfg=dict(filter_empty_gt=True, min_size=32),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(owod_dataset, labels='open', test_mode=True,
                 ann_file='VOC2007/ImageSets/Main/all_task_test.txt', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='OpenWorldMetric', iou_thr=0.5, ap_mode='11points')
test_evaluator = val_evaluator
# our schedule choice (ORE's own iteration counts differ per task): 8 GPUs x 2 images
train_cfg = dict(type='IterBasedTrainLoop', max_iters=36000, val_interval=6000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=36000, milestones=[24000, 32000], gamma=0.1)]
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001))
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=6000))
log_processor = dict(by_epoch=False)
