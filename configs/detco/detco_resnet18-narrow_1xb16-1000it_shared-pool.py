# CPU-sized DetCo: the narrow ResNetV1c-18 of configs/_base_/models/deeplabv3_r18-tiny-d8.py
# (16 base channels), pretrained on the unlabelled pool of ../shared/data (the images of
# aerial_dubai, isbi_em train+test, bccd and chess; labels, masks and annotations unused).
# Views: global 96 px, jigsaw crop 96 = 3 x 32 px cells, 24 px patches; queues of 4096.
# Key-encoder momentum 0.99 (the R-50 config's 0.999 is for 200 ImageNet epochs: over 200 / 1000
# iterations it leaves 82 % / 37 % of the random init in the key encoder; 0.99 leaves 13 % / 0.004 %,
# as PCRL's CPU configs). MoCo v2 and PCL inherit it.
# The backbone is exported to <work_dir>/backbone.pth at the end (BackboneExportHook) for the
# transfer configs (or with tools/model_converters/detco_to_backbone.py from a checkpoint).
_base_ = ['../_base_/models/detco_r50.py', '../_base_/datasets/detco_views.py',
          '../_base_/selfsup_runtime.py']
model = dict(
    backbone=dict(_delete_=True, type='mmseg.ResNetV1c', depth=18, stem_channels=16,
                  base_channels=16, out_indices=(0, 1, 2, 3),
                  norm_cfg=dict(type='BN', requires_grad=True)),
    head=dict(hidden_dim=256),
    queue_size=4096,
    momentum=0.99)
global_view = [
    dict(type='TorchvisionAugment', transforms=[
        dict(type='RandomResizedCrop', size=96, scale=(0.2, 1.0), antialias=True)]),
    {{_base_.colour}}]
jigsaw_view = [
    dict(type='TorchvisionAugment', transforms=[
        dict(type='RandomResizedCrop', size=96, scale=(0.2, 1.0), antialias=True)]),
    {{_base_.colour}},
    dict(type='Jigsaw', grid=3, cell_size=32, patch_size=24)]
train_pipeline = [
    dict(type='LoadImage', channels=3),
    dict(type='MultiView', views=[dict(name='global', num=2, pipeline=global_view),
                                  dict(name='jigsaw', num=2, pipeline=jigsaw_view)]),
]
pool_dirs = ['aerial_dubai/image', 'isbi_em/train/image', 'isbi_em/test',
             'bccd/BCCD/JPEGImages', 'chess/train', 'chess/valid', 'chess/test']
train_dataloader = dict(
    batch_size=16, num_workers=2, persistent_workers=True, drop_last=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='UnlabelledImageFolder', data_root='../shared/data', sub_dirs=pool_dirs,
                 check='header', pipeline=train_pipeline))
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.03, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=1000, by_epoch=False, begin=0, end=1000)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1000)
default_hooks = dict(logger=dict(interval=20),
                     checkpoint=dict(by_epoch=False, interval=500, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
