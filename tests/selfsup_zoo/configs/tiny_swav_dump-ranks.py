# The SwAV pool config shrunk for a 2-rank test (crops 32 + 16 px, no colour augmentations, batch
# set by the test), plus a hook that saves each rank's final state. Tests set
# train_dataloader.dataset.data_root to a folder of generated images.
_base_ = ['../../../configs/selfsup_zoo/swav_resnet18-narrow_1xb16-1000it_shared-pool.py']
custom_imports = dict(
    imports=['cl_dense.selfsup.mmpretrain_compat', 'tests.fixtures.rank_state_hook'],
    allow_failed_imports=False)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=[2, 4], transforms=[
        [dict(type='RandomResizedCrop', scale=32, crop_ratio_range=(0.14, 1.0)),
         dict(type='RandomFlip', prob=0.5)],
        [dict(type='RandomResizedCrop', scale=16, crop_ratio_range=(0.05, 0.14)),
         dict(type='RandomFlip', prob=0.5)]]),
    dict(type='PackInputs'),
]
train_dataloader = dict(num_workers=0, persistent_workers=False,
                        dataset=dict(sub_dirs=[''], check='decode', pipeline=train_pipeline))
custom_hooks = [dict(type='SwAVHook', priority='VERY_HIGH', batch_size=2, queue_length=0,
                     crops_for_assign=[0, 1], feat_dim=128, frozen_layers_cfg=dict(prototypes=2)),
                dict(type='DumpRankStateHook')]
