# isbi_em fine-tuning from the UNet pretrained by PCRL on isbi_em's own images
# (configs/pcrl/pcrl_unet-s5-d16_1xb8-800it_isbi-em.py, exported with
# tools/model_converters/detco_to_backbone.py: the whole UNet, encoder and decoder paths); the
# random-init baseline is fcn_unet-s5-d16_1xb4-200it_isbi-em-256x256.py.
_base_ = ['./fcn_unet-s5-d16_1xb4-200it_isbi-em-256x256.py']
pcrl_backbone = 'work_dirs/pcrl_unet-s5-d16_1xb8-800it_isbi-em/backbone.pth'
model = dict(backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=pcrl_backbone)))
