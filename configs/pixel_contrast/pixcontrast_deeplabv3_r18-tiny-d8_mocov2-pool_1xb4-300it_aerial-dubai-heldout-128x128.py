# CE + in-batch pixel contrast on ./deeplabv3_r18-tiny-d8_mocov2-pool_1xb4-300it_aerial-dubai-heldout-128x128.py
# (same model, data, schedule). ContrastiveSeg's in-batch defaults (T 0.1, base T 0.07,
# max_samples 1024, max_views 100, loss weight 0.1; the sweep of compare_pixel_contrast.py varies
# the weight), warm-up 1/8 of the schedule (5k of 40k in the paper).
_base_ = [
    './deeplabv3_r18-tiny-d8_mocov2-pool_1xb4-300it_aerial-dubai-heldout-128x128.py',
    '../_base_/contrast/pixcontrast_resnet.py',
]
model = _base_.contrast_model
model.update(
    contrast_head=dict(in_channels=128, norm_cfg=dict(type='BN', requires_grad=True)),
    contrast_warmup_iters=_base_.iters // 8)
