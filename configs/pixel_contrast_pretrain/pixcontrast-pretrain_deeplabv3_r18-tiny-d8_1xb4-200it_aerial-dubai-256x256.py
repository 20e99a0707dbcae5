# Stage 1 on aerial_dubai: the CPU-sized DeepLabV3 R-18 trained by memory pixel contrast alone
# (ContrastiveSeg's pixel and region banks, 200 iterations). Stage 2:
# ./deeplabv3_r18-tiny-d8_1xb4-200it_aerial-dubai-256x256_from-pixcontrast-pretrain.py
_base_ = [
    '../pixel_contrast/pixcontrast-mem_deeplabv3_r18-tiny-d8_1xb4-200it_aerial-dubai-256x256.py',
    '../_base_/contrast/contrast-only-stage.py',
]
model = _base_.contrast_only_model
val_dataloader = val_cfg = val_evaluator = None
test_dataloader = test_cfg = test_evaluator = None
