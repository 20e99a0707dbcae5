# CE + memory pixel contrast on ./deeplabv3_r18-tiny-d8_mocov2-pool_1xb4-300it_aerial-dubai-heldout-128x128.py
# (same model, data, schedule). ContrastiveSeg's memory defaults (T = base T = 0.07, max_views 1,
# loss weight 1, 5000 keys per class; the sweep of compare_pixel_contrast.py varies max_views and
# the weight), warm-up 1/8 of the schedule.
_base_ = [
    './deeplabv3_r18-tiny-d8_mocov2-pool_1xb4-300it_aerial-dubai-heldout-128x128.py',
    '../_base_/contrast/pixcontrast-mem_resnet18-tiny.py',
]
model = _base_.contrast_model
model.update(contrast_warmup_iters=_base_.iters // 8)
