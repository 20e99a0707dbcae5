# CE-only baseline on isbi_em (membrane vs cell), CPU-sized.
_base_ = [
    '../_base_/models/deeplabv3_r18-tiny-d8.py',
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
