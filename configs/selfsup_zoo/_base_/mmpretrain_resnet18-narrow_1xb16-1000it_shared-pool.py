# What the CPU-sized mmpretrain methods on the pool share (simclr_ / byol_ / swav_resnet18-narrow_
# 1xb16-1000it_shared-pool.py): mmpretrain's models, transforms (LoadImageFromFile, MultiView,
# RandomResizedCrop, ColorJitter, ..., PackInputs) and SelfSupDataPreprocessor, so the scope is
# 'mmpretrain'; our UnlabelledImageFolder is found in mmengine's root registry, which mmpretrain's
# registries fall back to (cl_dense.selfsup.mmpretrain_compat registers it; tools/train.py imports
# it for this scope).
# Pool, batch, optimizer, schedule and hooks are inherited from the DetCo pool config, so that the
# methods are compared on equal terms; the backbone is its narrow ResNetV1c-18, whose export
# (`backbone.` prefix) loads strictly into
# configs/detco/transfer/deeplabv3_r18-tiny-d8_detco-shared-pool_1xb4-200it_*.py.
# A leaf sets `model = dict(_delete_=True, ...)` (from `backbone` and `data_preprocessor` here)
# and `train_dataloader = dict(dataset=dict(pipeline=train_pipeline))`.
_base_ = ['../../detco/detco_resnet18-narrow_1xb16-1000it_shared-pool.py']
default_scope = 'mmpretrain'
# registers our modules and makes mmcv's adjust_hue (ColorJitter) numpy-2-safe
custom_imports = dict(imports=['cl_dense.selfsup.mmpretrain_compat'], allow_failed_imports=False)
# only res5 (128 channels) feeds mmpretrain's necks, which take one level: out_indices changes no
# parameter, so the transfer configs' out_indices (0, 1, 2, 3) load the same weights
backbone = dict(type='mmseg.ResNetV1c', depth=18, stem_channels=16, base_channels=16,
                out_indices=(3,), norm_cfg=dict(type='BN', requires_grad=True))
# LoadImageFromFile decodes to BGR (grey EM and X-ray images to 3 equal channels); to_rgb flips
# the channels before ImageNet normalisation, as the mmseg transfer configs do (bgr_to_rgb)
data_preprocessor = dict(type='SelfSupDataPreprocessor', mean=[123.675, 116.28, 103.53],
                         std=[58.395, 57.12, 57.375], to_rgb=True)
# mmpretrain's PackInputs + SelfSupDataPreprocessor want batched tensors
train_dataloader = dict(collate_fn=dict(type='default_collate'))
