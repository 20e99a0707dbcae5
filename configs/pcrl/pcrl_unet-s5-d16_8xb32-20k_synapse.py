# Full-size PCRL pretraining for users (GPUs): mmseg's UNet-S5-D16 (64 base channels) on the
# slices of the Synapse multi-organ CT set in mmseg's layout (data/synapse/img_dir/train; labels
# unused), 224 px views, 8 GPUs x 32, queue of 16384, m = 0.999, SGD lr 0.03 cosine, 20k iterations.
# Export with tools/model_converters/detco_to_backbone.py, then fine-tune with
# fcn_unet-s5-d16_pcrl-synapse_4xb4-40k_synapse-224x224.py.
_base_ = ['./pcrl_unet-s5-d16_1xb8-800it_isbi-em.py']
max_iters = 20000
model = dict(backbone=dict(base_channels=64, norm_cfg=dict(type='SyncBN', requires_grad=True)),
             head=dict(hidden_dim=1024), queue_size=16384, momentum=0.999)
view = [
    dict(type='TorchvisionAugment', transforms=[
        dict(type='RandomResizedCrop', size=224, scale=(0.2, 1.0), antialias=True)]),
    dict(type='PCRLTransform', flip_prob=0.5, rotate=True, paint_prob=0.8)]
train_pipeline = [
    dict(type='LoadImage', channels=3),
    dict(type='MultiView', views=[dict(name='view', num=2, pipeline=view)],
         extra_keys=('target', 'code')),
]
train_dataloader = dict(
    batch_size=32, num_workers=8,
    dataset=dict(data_root='data/synapse', sub_dirs=['img_dir/train'], pipeline=train_pipeline))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_iters, by_epoch=False, begin=0,
                        end=max_iters)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=5000, max_keep_ckpts=2))
env_cfg = dict(dist_cfg=dict(backend='nccl'))
