_base_ = [
    'mmseg::deeplabv3/deeplabv3_r50-d8_4xb4-80k_ade20k-512x512.py',
    '../_base_/contrast/pixcontrast-mem_resnet.py',
]
custom_imports = dict(imports=['cl_dense.seg'], allow_failed_imports=False)
# 150 classes: 1000 slots per class keep each bank at 150 MB (5000 slots: 770 MB per bank)
model = dict(_base_.contrast_model,
             contrast_loss=dict(_base_.contrast_model.contrast_loss, memory_size=1000))
