_base_ = [
    'mmseg::deeplabv3/deeplabv3_r101-d8_4xb2-80k_cityscapes-512x1024.py',
    '../_base_/contrast/pixcontrast_resnet.py',
]
custom_imports = dict(imports=['cl_dense.seg'], allow_failed_imports=False)
model = _base_.contrast_model
