# CPU-sized GLCNet pretraining of the narrow DeepLabV3 R-18-D8 (configs/_base_/models/
# deeplabv3_r18-tiny-d8.py, the backbone of the random-init baselines in configs/pixel_contrast/)
# on the images of aerial_dubai (all 72 tiles; masks unused). Two overlapping 96 px views per
# image (tile resized to a random 288-512 px short side first, about the fine-tuning scale),
# flips, quarter turns and colour jitter per view; decode-head features 64 x 12 x 12.
# Export: python tools/model_converters/detco_to_backbone.py work_dirs/<this>/iter_300.pth
#   backbone.pth (prefix backbone.), then fine-tune with
#  configs/detco/transfer/deeplabv3_r18-tiny-d8_detco-shared-pool_1xb4-200it_aerial-dubai-256x256.py
#   --cfg-options model.backbone.init_cfg.checkpoint=backbone.pth
_base_ = ['../_base_/models/deeplabv3_r18-tiny-d8.py', '../_base_/glcnet_pretrain.py']
model = dict(
    _delete_=True,
    type='GLCNet',
    segmentor={{_base_.model}},
    global_head=dict(hidden_dim=256, out_dim=64),
    local_head=dict(hidden_dim=128, out_dim=64),
    num_matches=16, window=3, global_weight=0.5, local_weight=0.5, temperature=0.5,
    # explicit: the Runner would pass the base file's top-level SegDataPreprocessor otherwise
    data_preprocessor=dict(type='MultiViewDataPreprocessor'))
image_scale = dict(min_size=288, max_size=512)  # short side, drawn per image
train_pipeline = [
    dict(type='LoadImage', channels=3),
    dict(type='TorchvisionAugment', transforms=[
        dict(type='RandomResize', antialias=True, **image_scale)]),
    dict(type='OverlappingViews', crop_size=96, max_shift=0.5, view_pipeline=[{{_base_.colour}}]),
]
train_dataloader = dict(batch_size=8, dataset=dict(
    data_root='../shared/data', sub_dirs=['aerial_dubai/image'], pipeline=train_pipeline))
# lr 0.03 (SGD, cosine) as in the DetCo/MoCo v2 shared-pool configs, the same for the zoo methods
max_iters = 300
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_iters, by_epoch=False, begin=0,
                        end=max_iters)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(logger=dict(interval=20),
                     checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
