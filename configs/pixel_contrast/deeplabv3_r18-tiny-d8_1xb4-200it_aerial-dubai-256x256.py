# CE-only baseline of the CPU-sized pixel contrast comparison on aerial_dubai
# (tools/analysis_tools/compare_pixel_contrast.py; results in docs/pixel_contrast.md).
_base_ = [
    '../_base_/models/deeplabv3_r18-tiny-d8.py',
    '../_base_/datasets/aerial_dubai.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/schedule_200it_adamw.py',
]
custom_imports = dict(imports=['cl_dense.seg'], allow_failed_imports=False)
crop_size = (256, 256)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=6),
    auxiliary_head=dict(num_classes=6))
