# aerial_dubai fine-tuning (CPU-sized) from the DetCo backbone pretrained on the unlabelled pool of
# ../shared/data (configs/detco/detco_resnet18-narrow_1xb16-1000it_shared-pool.py, exported with
# tools/model_converters/detco_to_backbone.py); the random-init baseline is
# configs/pixel_contrast/deeplabv3_r18-tiny-d8_1xb4-200it_aerial-dubai-256x256.py.
_base_ = ['../../pixel_contrast/deeplabv3_r18-tiny-d8_1xb4-200it_aerial-dubai-256x256.py']
detco_backbone = 'work_dirs/detco_resnet18-narrow_1xb16-1000it_shared-pool/backbone.pth'
model = dict(backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=detco_backbone)))
