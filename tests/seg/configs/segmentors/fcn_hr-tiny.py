# mmseg's HRNet + FCN (all four levels resized and concatenated) with the tiny HRNet.
_base_ = ['mmseg::_base_/models/fcn_hr18.py', './_hrnet-tiny.py']
model = dict(
    backbone=dict(extra={{_base_.hrnet}}),
    decode_head=dict(in_channels=[4, 8, 16, 32], channels=60))
