# mmseg's PIDNet-S (its decode head returns P, I and D branch logits in training and needs
# gt_edge_map), 8 base channels, OHEM kept to the tiny images, no class weights.
_base_ = ['mmseg::pidnet/pidnet-s_2xb6-120k_1024x1024-cityscapes.py']
ohem = dict(type='OhemCrossEntropy', thres=0.9, min_kept=64, loss_weight=1.0)
model = dict(
    backbone=dict(channels=8, ppm_channels=16),
    decode_head=dict(
        in_channels=32, channels=16,
        loss_decode=[dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4), ohem,
                     dict(type='BoundaryLoss', loss_weight=20.0), ohem]))
# in training the backbone returns (P, I, D) branch features: embed the I branch (stride 8)
contrast_head = dict(in_channels=32, in_index=1)
