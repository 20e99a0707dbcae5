# VOC07+12 Faster R-CNN R-50-C4, 18k iterations (the paper's VOC protocol), from DetCo R-50
# (configs/detco/detco_resnet50_8xb32-coslr-200e_in1k.py, exported with detco_to_backbone.py).
# Another backbone: --cfg-options model.backbone.init_cfg.checkpoint=... model.roi_head.shared_head.init_cfg.checkpoint=...
_base_ = ['mmdet::pascal_voc/faster-rcnn_r50-caffe-c4_ms-18k_voc0712.py']
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
