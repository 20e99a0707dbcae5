# Shared sizes of ./mask2former_r18-tiny.py and ./maskformer_r18-tiny.py: an 8-channel
# ResNet-18, a 16-dim transformer decoder with one layer, 8 queries, 5 classes. (Names differ from
# the upstream configs' top-level variables, which bases may not redefine.)
tiny_classes = 5
tiny_attn = dict(embed_dims=16, num_heads=2)
tiny_ffn = dict(embed_dims=16, feedforward_channels=32)
tiny_position = dict(num_feats=8)
tiny_backbone = dict(depth=18, stem_channels=8, base_channels=8)
tiny_query_head = dict(
    in_channels=[8, 16, 32, 64], feat_channels=16, out_channels=16, num_classes=tiny_classes,
    num_queries=8, positional_encoding=tiny_position,
    transformer_decoder=dict(num_layers=1, layer_cfg=dict(
        self_attn_cfg=tiny_attn, cross_attn_cfg=tiny_attn, ffn_cfg=tiny_ffn)),
    loss_cls=dict(class_weight=[1.0] * tiny_classes + [0.1]))
contrast_head = dict(in_channels=[8, 16], in_index=[0, 1])  # stages 1-2, stride 4
