# VOC07+12 Faster R-CNN R-50-FPN from DetCo R-50 (exported with detco_to_backbone.py).
_base_ = ['mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py']
# SyncBN fine-tuned (MoCo/DetCo's detection protocol; plain BN on CPU runs)
detco_backbone = 'work_dirs/detco_resnet50_8xb32-coslr-200e_in1k/backbone.pth'
model = dict(
    backbone=dict(frozen_stages=-1, norm_cfg=dict(type='SyncBN', requires_grad=True),
                  norm_eval=False, init_cfg=dict(type='Pretrained', checkpoint=detco_backbone)))
