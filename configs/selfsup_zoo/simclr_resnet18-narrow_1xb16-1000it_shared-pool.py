# SimCLR (mmpretrain's SimCLR, NonLinearNeck, ContrastiveHead: NT-Xent at T = 0.1 over the 2B
# views of the batch) on the narrow ResNetV1c-18 and the unlabelled pool of ../shared/data.
# Views: mmpretrain's SimCLR augmentations (imagenet_bs32_simclr.py) at 96 px instead of 224.
# Export: tools/model_converters/detco_to_backbone.py CKPT OUT.pth (prefix `backbone.`).
_base_ = ['./_base_/mmpretrain_resnet18-narrow_1xb16-1000it_shared-pool.py']
model = dict(
    _delete_=True,
    type='SimCLR',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone={{_base_.backbone}},
    neck=dict(type='NonLinearNeck', in_channels=128, hid_channels=256, out_channels=128,
              num_layers=2, with_avg_pool=True, norm_cfg=dict(type='BN1d')),
    head=dict(type='ContrastiveHead', loss=dict(type='CrossEntropyLoss'), temperature=0.1))
view_pipeline = [
    dict(type='RandomResizedCrop', scale=96, backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomApply', prob=0.8, transforms=[
        dict(type='ColorJitter', brightness=0.8, contrast=0.8, saturation=0.8, hue=0.2)]),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='GaussianBlur', magnitude_range=(0.1, 2.0), magnitude_std='inf', prob=0.5),
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
