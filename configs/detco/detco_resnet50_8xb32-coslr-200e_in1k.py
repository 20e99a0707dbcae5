# DetCo R-50, 200 epochs on ImageNet-1k (folder layout data/imagenet/train/<class>/*.JPEG; the
# class folders are not used), 8 processes x 32 images, SGD lr 0.03 (MoCo v2), cosine schedule.
_base_ = ['../_base_/models/detco_r50.py', '../_base_/datasets/detco_views.py',
          '../_base_/selfsup_runtime.py']
train_dataloader = dict(
    batch_size=32, num_workers=8, persistent_workers=True, drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='UnlabelledImageFolder', data_root='data/imagenet', sub_dirs=['train'],
                 check='none', pipeline={{_base_.train_pipeline}}))
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.03, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=200, by_epoch=True, begin=0, end=200)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=200)
auto_scale_lr = dict(base_batch_size=256)
