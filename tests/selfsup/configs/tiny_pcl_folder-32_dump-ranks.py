# The PCL pool config shrunk for the resume and 2-rank tests: 8-channel ResNetV1c-18, 16-d heads, queue of 8,
# feature bank of 16, clusterings of 2 and 3, 32 px views (flips only), k-means after every
# iteration from iteration 2, and a hook that saves each rank's final state.
_base_ = ['../../../configs/selfsup_zoo/pcl_resnet18-narrow_1xb16-1000it_shared-pool.py']
custom_imports = dict(imports=['cl_dense.selfsup', 'tests.fixtures.rank_state_hook',
                               'tests.fixtures.seed_transform'],
                      allow_failed_imports=False)
model = dict(backbone=dict(stem_channels=8, base_channels=8), head=dict(hidden_dim=32, out_dim=16),
             queue_size=8, bank_size=16, num_clusters=(2, 3), kmeans_iters=5)
global_view = [
    dict(type='TorchvisionAugment', transforms=[
        dict(type='RandomResizedCrop', size=32, scale=(0.2, 1.0), antialias=True),
        dict(type='RandomHorizontalFlip')])]
train_pipeline = [
    dict(type='LoadImage', channels=3),
    dict(type='MultiView', views=[dict(name='global', num=2, pipeline=global_view)]),
]
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root='data/unset', sub_dirs=[''], check='decode', pipeline=train_pipeline))
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end=3)]
train_cfg = dict(max_iters=3)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=3))
custom_hooks = [dict(type='PrototypeUpdateHook', interval=1, warmup_iters=2),
                dict(type='DumpRankStateHook')]
