# mmseg's DeepLabV3+ R-50-D8 on Potsdam (4 GPUs x 4, 80k) initialised from the GLCNet backbone
# of configs/glcnet/glcnet_deeplabv3plus_r50-d8_4xb16-40k_potsdam.py instead of ImageNet.
# For LoveDA inherit mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb4-80k_loveda-512x512.py alike.
_base_ = ['mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb4-80k_potsdam-512x512.py']
glcnet_backbone = 'work_dirs/glcnet_deeplabv3plus_r50-d8_4xb16-40k_potsdam/backbone.pth'
model = dict(pretrained=None,
             backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=glcnet_backbone)))
