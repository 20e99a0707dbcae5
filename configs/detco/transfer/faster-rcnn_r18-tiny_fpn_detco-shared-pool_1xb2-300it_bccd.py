# BCCD detection (CPU-sized) from the DetCo backbone pretrained on the unlabelled pool of
# ../shared/data (configs/detco/detco_resnet18-narrow_1xb16-1000it_shared-pool.py, exported with
# tools/model_converters/detco_to_backbone.py).
_base_ = ['./faster-rcnn_r18-tiny_fpn_1xb2-300it_bccd.py']
detco_backbone = 'work_dirs/detco_resnet18-narrow_1xb16-1000it_shared-pool/backbone.pth'
model = dict(backbone=dict(init_cfg=dict(_delete_=True, type='Pretrained', checkpoint=detco_backbone)))
