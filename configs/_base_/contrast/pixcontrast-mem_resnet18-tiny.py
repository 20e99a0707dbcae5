# ./pixcontrast-mem_resnet.py for the CPU-sized ../models/deeplabv3_r18-tiny-d8.py (stage 4 has
# 128 channels; plain BN). The contrast term starts after 1/8 of the 200 iterations (5k of 40k in
# the paper).
_base_ = './pixcontrast-mem_resnet.py'
contrast_model = dict(
    contrast_head=dict(in_channels=128, norm_cfg=dict(type='BN', requires_grad=True)),
    contrast_warmup_iters=25)
