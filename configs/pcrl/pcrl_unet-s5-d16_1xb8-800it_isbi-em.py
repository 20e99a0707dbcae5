# CPU-sized PCRL pretraining on the ISBI EM slices themselves (train + test images, 60 slices;
# labels unused): narrow UNet-S5-D16, 96 px views, batch 8, queue of 4096, SGD, 800 iterations.
# Export: python tools/model_converters/detco_to_backbone.py work_dirs/<this>/iter_800.pth
#         work_dirs/<this>/backbone.pth   (prefix query_encoder.backbone.)
# Fine-tune: configs/pcrl/fcn_unet-s5-d16_pcrl-isbi-em_1xb4-200it_isbi-em-256x256.py
_base_ = ['../_base_/models/pcrl_unet-s5-d16.py', '../_base_/datasets/pcrl_views.py',
          '../_base_/selfsup_runtime.py']
max_iters = 800
train_dataloader = dict(dataset=dict(sub_dirs=['isbi_em/train/image', 'isbi_em/test']))
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.03, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_iters, by_epoch=False, begin=0,
                        end=max_iters)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(logger=dict(interval=20),
                     checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
