# mmseg's SegFormer (MiT-B0 + all-MLP head), 8-dim first stage, one layer per stage.
_base_ = ['mmseg::_base_/models/segformer_mit-b0.py']
model = dict(
    backbone=dict(embed_dims=8, num_layers=[1, 1, 1, 1]),
    decode_head=dict(in_channels=[8, 16, 40, 64], channels=16))
contrast_head = dict(in_channels=8, in_index=0)  # stage 1, stride 4
