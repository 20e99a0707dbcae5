# PCRL pretraining model on the narrow UNet-S5-D16 of the CPU fine-tuning configs (base_channels 16
# instead of mmseg's 64; 5 stages, 4 downsamplings, so crops must be multiples of 16). The exported
# backbone (query_encoder.backbone.*) loads strictly into configs/pcrl/fcn_unet-s5-d16_*.py.
norm_cfg = dict(type='BN', requires_grad=True)
unet = dict(type='mmseg.UNet', in_channels=3, base_channels=16, num_stages=5, norm_cfg=norm_cfg)
model = dict(
    type='PCRL',
    backbone=unet,
    head=dict(hidden_dim=256, out_dim=128),
    queue_size=4096,
    momentum=0.99,
    temperature=0.2,
    mixup_alpha=1.0,
    contrast_weight=1.0,
    hybrid_weight=1.0,
    rec_weight=1.0,
    data_preprocessor=dict(type='MultiViewDataPreprocessor'))
