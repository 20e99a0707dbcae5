# CE + memory pixel contrast on top of ./deeplabv3_r18-tiny-d8_1xb4-200it_isbi-em-256x256.py
# (same model, data and schedule).
_base_ = [
    './deeplabv3_r18-tiny-d8_1xb4-200it_isbi-em-256x256.py',
    '../_base_/contrast/pixcontrast-mem_resnet18-tiny.py',
]
model = _base_.contrast_model
