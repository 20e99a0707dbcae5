# SwAV (mmpretrain's SwAV, SwAVNeck, SwAVHead + SwAVLoss: online codes from 3 Sinkhorn-Knopp
# iterations at eps = 0.05 on the two 96 px crops, swapped prediction from every other crop at
# T = 0.1) on the narrow ResNetV1c-18 and the unlabelled pool of ../shared/data.
# Multi-crop: 2 x 96 px (area 14-100 %) + 4 x 48 px (5-14 %), mmpretrain's SwAV augmentations
# (swav_resnet50_8xb32-mcrop-coslr-200e_in1k-224px-96px.py) at 96/48 px instead of 224/96.
# Our choices for batch 16 on the CPU: 64 prototypes (3000 for ImageNet) and no feature queue
# (SwAVHook's queue is per epoch and kept outside the checkpoint); the prototypes are frozen for
# the first 50 iterations (about one pass over the pool, as upstream freezes them for one epoch).
# Export: tools/model_converters/detco_to_backbone.py CKPT OUT.pth (prefix `backbone.`).
_base_ = ['./_base_/mmpretrain_resnet18-narrow_1xb16-1000it_shared-pool.py']
num_crops = [2, 4]
model = dict(
    _delete_=True,
    type='SwAV',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone={{_base_.backbone}},
    neck=dict(type='SwAVNeck', in_channels=128, hid_channels=256, out_channels=128,
              with_avg_pool=True, norm_cfg=dict(type='BN1d')),
    head=dict(type='SwAVHead', loss=dict(
        type='SwAVLoss', feat_dim=128, num_prototypes=64, sinkhorn_iterations=3, epsilon=0.05,
        temperature=0.1, crops_for_assign=[0, 1], num_crops=num_crops)))


def swav_view(size: int, area: tuple) -> list:
    """SwAV's view pipeline for crops of ``size`` px covering ``area`` of the image."""
    return [
        dict(type='RandomResizedCrop', scale=size, crop_ratio_range=area, backend='pillow'),
        dict(type='RandomApply', prob=0.8, transforms=[
            dict(type='ColorJitter', brightness=0.8, contrast=0.8, saturation=0.8, hue=0.2)]),
        dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
             channel_weights=(0.114, 0.587, 0.2989)),
        dict(type='GaussianBlur', magnitude_range=(0.1, 2.0), magnitude_std='inf', prob=0.5),
        dict(type='RandomFlip', prob=0.5),
    ]


train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=num_crops,
         transforms=[swav_view(96, (0.14, 1.0)), swav_view(48, (0.05, 0.14))]),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
custom_hooks = [dict(type='SwAVHook', priority='VERY_HIGH', batch_size=16, queue_length=0,
                     crops_for_assign=[0, 1], feat_dim=128,
                     frozen_layers_cfg=dict(prototypes=50)),
                dict(type='BackboneExportHook')]
# the prototypes get no gradient while frozen
find_unused_parameters = True
