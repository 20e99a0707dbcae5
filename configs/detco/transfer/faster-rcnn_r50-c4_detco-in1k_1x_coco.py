# COCO Faster R-CNN R-50-C4 1x from DetCo R-50 (exported with detco_to_backbone.py).
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50-caffe_c4-1x_coco.py']
# pytorch-style ResNet and RGB normalisation (as pretrained); SyncBN fine-tuned in the backbone
# and the res5 RoI head (MoCo/DetCo's detection protocol; plain BN on CPU runs)
detco_backbone = 'work_dirs/detco_resnet50_8xb32-coslr-200e_in1k/backbone.pth'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           bgr_to_rgb=True),
    backbone=dict(style='pytorch', frozen_stages=-1, norm_cfg=norm_cfg, norm_eval=False,
                  init_cfg=dict(type='Pretrained', checkpoint=detco_backbone)),
    roi_head=dict(shared_head=dict(
        style='pytorch', norm_cfg=norm_cfg, norm_eval=False,
        init_cfg=dict(type='Pretrained', checkpoint=detco_backbone))))
