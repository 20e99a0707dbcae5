# Full-size, ImageNet-free GLCNet pretraining of mmseg's DeepLabV3+ R-50-D8 on the Potsdam
# training tiles (mmseg's converted 512x512 patches under data/potsdam/img_dir/train; labels
# unused), for GPUs: 4 GPUs x 16 images, 40k iterations, SyncBN. Never run here (no GPU).
# Two overlapping 256 px views per tile (tile resized to a random 384-768 px short side),
# flips, quarter turns, colour jitter; decode-head features 512 x 64 x 64 (stride 4).
# LoveDA: --cfg-options train_dataloader.dataset.data_root=data/loveDA
#   "train_dataloader.dataset.sub_dirs=['img_dir/train']"
# Export the backbone (prefix backbone.) with tools/model_converters/detco_to_backbone.py and
# fine-tune with configs/glcnet/transfer/deeplabv3plus_r50-d8_glcnet_4xb4-80k_potsdam-512x512.py.
_base_ = ['../_base_/models/deeplabv3plus_r50-d8_no-imagenet.py', '../_base_/glcnet_pretrain.py']
# GLCNet's defaults otherwise: K = 16 matches per image, 3x3 windows, 0.5 / 0.5, t = 0.5
model = dict(_delete_=True, type='GLCNet', segmentor={{_base_.model}},
             global_head=dict(hidden_dim=1024, out_dim=128),
             local_head=dict(hidden_dim=512, out_dim=128),
             data_preprocessor=dict(type='MultiViewDataPreprocessor'))
train_pipeline = [
    dict(type='LoadImage', channels=3),
    dict(type='TorchvisionAugment', transforms=[
        dict(type='RandomResize', min_size=384, max_size=768, antialias=True)]),
    dict(type='OverlappingViews', crop_size=256, max_shift=0.5,
         view_pipeline=[{{_base_.colour}}]),
]
train_dataloader = dict(batch_size=16, num_workers=8, dataset=dict(
    data_root='data/potsdam', sub_dirs=['img_dir/train'], pipeline=train_pipeline))
# SimCLR's linear scaling (0.3 x 64 / 256) with SGD, cosine: our choice, not the paper's
optim_wrapper = dict(optimizer=dict(lr=0.075))
max_iters = 40000
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_iters, by_epoch=False, begin=0,
                        end=max_iters)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(by_epoch=False, interval=4000, max_keep_ckpts=2))
