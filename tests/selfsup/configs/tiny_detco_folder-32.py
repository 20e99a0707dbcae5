# The CPU pretraining config shrunk for tests: 8-channel ResNetV1c-18, 16-d heads, queues of 8, m = 0.99,
# 32 px global views, 48 px jigsaw crops (16 px cells, 12 px patches), batch 8, no workers.
# Colour augmentations are left out (flips only: cheap and an easy task for a loss-decrease
# check; tests/selfsup/test_transforms.py covers them). Tests set
# train_dataloader.dataset.data_root to a folder of generated images.
_base_ = ['../../../configs/detco/detco_resnet18-narrow_1xb16-1000it_shared-pool.py']
custom_imports = dict(imports=['cl_dense.selfsup', 'tests.fixtures.seed_transform',
                               'tests.fixtures.rank_state_hook'], allow_failed_imports=False)
model = dict(backbone=dict(stem_channels=8, base_channels=8), head=dict(hidden_dim=32, out_dim=16),
             queue_size=8, momentum=0.99)
colour = dict(type='TorchvisionAugment', transforms=[dict(type='RandomHorizontalFlip')])
global_view = [
    dict(type='TorchvisionAugment', transforms=[
        dict(type='RandomResizedCrop', size=32, scale=(0.2, 1.0), antialias=True)]),
    colour]
jigsaw_view = [
    dict(type='TorchvisionAugment', transforms=[
        dict(type='RandomResizedCrop', size=48, scale=(0.2, 1.0), antialias=True)]),
    colour,
    dict(type='Jigsaw', grid=3, cell_size=16, patch_size=12)]
train_pipeline = [
    dict(type='LoadImage', channels=3),
    dict(type='MultiView', views=[dict(name='global', num=2, pipeline=global_view),
                                  dict(name='jigsaw', num=2, pipeline=jigsaw_view)]),
]
train_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(data_root='data/unset', sub_dirs=[''], check='decode', pipeline=train_pipeline))
optim_wrapper = dict(optimizer=dict(lr=0.1))
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end=4)]
train_cfg = dict(max_iters=4)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2, max_keep_ckpts=5))
