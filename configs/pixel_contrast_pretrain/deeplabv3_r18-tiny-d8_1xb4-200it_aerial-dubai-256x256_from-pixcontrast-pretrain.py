# Stage 2 on aerial_dubai: cross-entropy fine-tuning (the CE baseline's model, data and schedule) from
# the backbone that stage 1 (./pixcontrast-pretrain_deeplabv3_r18-tiny-d8_1xb4-200it_aerial-dubai-256x256.py)
# trained; the heads start from scratch. Run stage 1 first with tools/train.py (its default work
# dir holds the checkpoint below), or point `pretrain_checkpoint` elsewhere with
# --cfg-options model.backbone.init_cfg.checkpoint=PATH.
_base_ = ['../pixel_contrast/deeplabv3_r18-tiny-d8_1xb4-200it_aerial-dubai-256x256.py']
pretrain_checkpoint = ('work_dirs/pixcontrast-pretrain_deeplabv3_r18-tiny-d8_1xb4-200it_'
                       'aerial-dubai-256x256/iter_200.pth')
model = dict(
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=pretrain_checkpoint,
                                prefix='backbone.')))
