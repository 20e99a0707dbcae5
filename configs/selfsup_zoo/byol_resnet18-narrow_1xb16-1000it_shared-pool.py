# BYOL (mmpretrain's BYOL: online backbone + NonLinearNeck projector, LatentPredictHead predictor
# and cosine-similarity loss, the target = a CosineEMA of the online backbone + projector with
# 1 - tau annealed from 0.01 to 0 over the run) on the narrow ResNetV1c-18 and the unlabelled
# pool of ../shared/data. Views: mmpretrain's asymmetric BYOL augmentations
# (imagenet_bs32_byol.py: blur always on view 1, 10% on view 2, solarise 20% on view 2) at 96 px.
# Export: tools/model_converters/detco_to_backbone.py CKPT OUT.pth (prefix `backbone.`: the
# online network; the target's copy is under `target_net.module.0.` and is not exported).
_base_ = ['./_base_/mmpretrain_resnet18-narrow_1xb16-1000it_shared-pool.py']
model = dict(
    _delete_=True,
    type='BYOL',
    base_momentum=0.01,
    data_preprocessor={{_base_.data_preprocessor}},
    backbone={{_base_.backbone}},
    neck=dict(type='NonLinearNeck', in_channels=128, hid_channels=256, out_channels=128,
              num_layers=2, with_bias=True, with_last_bn=False, with_avg_pool=True,
              norm_cfg=dict(type='BN1d')),
    head=dict(type='LatentPredictHead',
              predictor=dict(type='NonLinearNeck', in_channels=128, hid_channels=256,
                             out_channels=128, num_layers=2, with_bias=True, with_last_bn=False,
                             with_avg_pool=False, norm_cfg=dict(type='BN1d')),
              loss=dict(type='CosineSimilarityLoss')))


def byol_view(blur_prob: float, solarize_prob: float) -> list:
    """One of BYOL's two view pipelines (96 px)."""
    return [
        dict(type='RandomResizedCrop', scale=96, interpolation='bicubic', backend='pillow'),
        dict(type='RandomFlip', prob=0.5),
        dict(type='RandomApply', prob=0.8, transforms=[
            dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)]),
        dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
             channel_weights=(0.114, 0.587, 0.2989)),
        dict(type='GaussianBlur', magnitude_range=(0.1, 2.0), magnitude_std='inf',
             prob=blur_prob),
        dict(type='Solarize', thr=128, prob=solarize_prob),
    ]


train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=[1, 1], transforms=[byol_view(1.0, 0.0), byol_view(0.1, 0.2)]),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
