# mmseg's Mask2Former (query masks, its own matching loss) at the sizes of
# ./_query-heads-tiny.py, with one deformable-attention encoder layer in the pixel decoder.
_base_ = ['mmseg::mask2former/mask2former_r50_8xb2-90k_cityscapes-512x1024.py',
          './_query-heads-tiny.py']
model = dict(
    backbone={{_base_.tiny_backbone}},
    decode_head=dict(
        pixel_decoder=dict(
            norm_cfg=dict(type='GN', num_groups=4),
            encoder=dict(num_layers=1, layer_cfg=dict(self_attn_cfg={{_base_.tiny_attn}},
                                                      ffn_cfg={{_base_.tiny_ffn}})),
            positional_encoding={{_base_.tiny_position}}),
        train_cfg=dict(num_points=256),
        **_base_.tiny_query_head))
