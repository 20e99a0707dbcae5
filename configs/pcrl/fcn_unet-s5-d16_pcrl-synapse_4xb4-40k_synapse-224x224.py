# Synapse fine-tuning (UNet-S5-D16 + FCN, 40k iterations) from the PCRL export of
# pcrl_unet-s5-d16_8xb32-20k_synapse.py; the random-init baseline is
# configs/pixel_contrast/unet-s5-d16_fcn_4xb4-40k_synapse-224x224.py.
_base_ = ['../pixel_contrast/unet-s5-d16_fcn_4xb4-40k_synapse-224x224.py']
pcrl_backbone = 'work_dirs/pcrl_unet-s5-d16_8xb32-20k_synapse/backbone.pth'
model = dict(backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=pcrl_backbone)))
