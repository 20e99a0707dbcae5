# mmseg's DDRNet-23-slim (its decode head returns (context, spatial) logits in training),
# 8 base channels, OHEM kept to the tiny images.
_base_ = ['mmseg::ddrnet/ddrnet_23-slim_in1k-pre_2xb6-120k_cityscapes-1024x1024.py']
ohem = dict(type='OhemCrossEntropy', thres=0.9, min_kept=64)
model = dict(
    backbone=dict(channels=8, ppm_channels=16),
    decode_head=dict(in_channels=32, channels=16,
                     loss_decode=[dict(ohem, loss_weight=1.0), dict(ohem, loss_weight=0.4)]))
# in training the backbone returns (stage-3 spatial features, fused output): embed the output
contrast_head = dict(in_channels=32, in_index=1)  # stride 8
