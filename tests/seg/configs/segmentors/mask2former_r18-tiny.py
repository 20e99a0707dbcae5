# mmseg's Mask2Former (query masks, its own matching loss), an 8-channel ResNet-18, 16-dim
# transformer with one encoder and one decoder layer, 8 queries.
_base_ = ['mmseg::mask2former/mask2former_r50_8xb2-90k_cityscapes-512x1024.py']
num_classes = 5
dims = 16
attn = dict(embed_dims=dims, num_heads=2)
model = dict(
    backbone=dict(depth=18, stem_channels=8, base_channels=8),
    decode_head=dict(
        in_channels=[8, 16, 32, 64], feat_channels=dims, out_channels=dims,
        num_classes=num_classes, num_queries=8,
        pixel_decoder=dict(
            norm_cfg=dict(type='GN', num_groups=4),
            encoder=dict(num_layers=1, layer_cfg=dict(
                self_attn_cfg=dict(embed_dims=dims, num_heads=2),
                ffn_cfg=dict(embed_dims=dims, feedforward_channels=32))),
            positional_encoding=dict(num_feats=dims // 2)),
        positional_encoding=dict(num_feats=dims // 2),
        transformer_decoder=dict(num_layers=1, layer_cfg=dict(
            self_attn_cfg=attn, cross_attn_cfg=attn,
            ffn_cfg=dict(embed_dims=dims, feedforward_channels=32))),
        loss_cls=dict(class_weight=[1.0] * num_classes + [0.1]),
        train_cfg=dict(num_points=256)))
contrast_head = dict(in_channels=[8, 16], in_index=[0, 1])  # stages 1-2, stride 4
