_base_ = [
    'mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb4-80k_potsdam-512x512.py',
    '../_base_/contrast/pixcontrast-mem_resnet.py',
]
custom_imports = dict(imports=['cl_dense.seg'], allow_failed_imports=False)
model = _base_.contrast_model
