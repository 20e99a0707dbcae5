# CPU-sized GLCNet pretraining of the narrow DeepLabV3 R-18-D8 (configs/_base_/models/
# deeplabv3_r18-tiny-d8.py, the backbone of the random-init baselines in configs/pixel_contrast/)
# on the images of aerial_dubai (all 72 tiles; masks unused). Two overlapping 96 px views per
# image (tile resized to a random 288-512 px short side first, about the fine-tuning scale),
# flips, quarter turns and colour jitter per view; decode-head features 64 x 12 x 12.
# Export: python tools/model_converters/detco_to_backbone.py work_dirs/<this>/iter_300.pth
#   backbone.pth (prefix backbone.), then fine-tune with
#   configs/detco/transfer/deeplabv3_r18-tiny-d8_detco-shared-pool_1xb4-200it_aerial-dubai-256x256.py
#   --cfg-options model.backbone.init_cfg.checkpoint=backbone.pth
_base_ = ['../_base_/models/deeplabv3_r18-tiny-d8.py', '../_base_/selfsup_runtime.py']
model = dict(
    _delete_=True,
    type='GLCNet',
    segmentor={{_base_.model}},
    global_head=dict(hidden_dim=256, out_dim=64),
    local_head=dict(hidden_dim=128, out_dim=64),
    num_matches=16, window=3, global_weight=0.5, local_weight=0.5, temperature=0.5,
    # explicit: the Runner would pass the base file's top-level SegDataPreprocessor otherwise
    data_preprocessor=dict(type='MultiViewDataPreprocessor'))
colour = dict(type='TorchvisionAugment', transforms=[
    dict(type='RandomApply', p=0.8, transforms=[
        dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)]),
    dict(type='RandomGrayscale', p=0.2),
    dict(type='RandomApply', p=0.5, transforms=[
        dict(type='GaussianBlur', kernel_size=9, sigma=(0.1, 2.0))])])
image_scale = dict(min_size=288, max_size=512)  # short side, drawn per image
train_pipeline = [
    dict(type='LoadImage', channels=3),
    dict(type='TorchvisionAugment', transforms=[
        dict(type='RandomResize', antialias=True, **image_scale)]),
    dict(type='OverlappingViews', crop_size=96, max_shift=0.5, view_pipeline=[colour]),
]
train_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True, drop_last=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='UnlabelledImageFolder', data_root='../shared/data',
                 sub_dirs=['aerial_dubai/image'], check='header', pipeline=train_pipeline))
# the optimiser and schedule of the DetCo/MoCo v2 shared-pool configs (same for every zoo method)
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.03, momentum=0.9, weight_decay=1e-4))
max_iters = 300
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_iters, by_epoch=False, begin=0,
                        end=max_iters)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(logger=dict(interval=20),
                     checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
