# Random-init baseline for the PCRL transfer on isbi_em: the narrow UNet-S5-D16 + FCN, with the
# data pipeline, 256 px crops and 200-iteration AdamW schedule of
# configs/pixel_contrast/deeplabv3_r18-tiny-d8_1xb4-200it_isbi-em-256x256.py.
_base_ = [
    '../_base_/models/fcn_unet-s5-d16_narrow.py',
    '../_base_/datasets/isbi_em.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/schedule_200it_adamw.py',
]
custom_imports = dict(imports=['cl_dense.seg'], allow_failed_imports=False)
crop_size = (256, 256)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=2),
    auxiliary_head=dict(num_classes=2))
