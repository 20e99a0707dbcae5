# Cityscapes DeepLabV3 R-50-D8 80k from DetCo R-50 (exported with detco_to_backbone.py). DetCo
# pretrains a plain ResNet (conv1 stem), so the backbone is mmseg's ResNet, not ResNetV1c.
_base_ = ['mmseg::deeplabv3/deeplabv3_r50-d8_4xb2-80k_cityscapes-512x1024.py']
detco_backbone = 'work_dirs/detco_resnet50_8xb32-coslr-200e_in1k/backbone.pth'
model = dict(
    pretrained=None,
    backbone=dict(type='ResNet', init_cfg=dict(type='Pretrained', checkpoint=detco_backbone)))
