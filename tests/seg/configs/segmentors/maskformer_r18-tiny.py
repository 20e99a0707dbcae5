# mmseg's MaskFormer (query masks, its own matching loss) at the sizes of ./_query-heads-tiny.py.
_base_ = ['mmseg::maskformer/maskformer_r50-d32_8xb2-160k_ade20k-512x512.py',
          './_query-heads-tiny.py']
model = dict(
    backbone={{_base_.tiny_backbone}},
    decode_head=dict(
        pixel_decoder=dict(norm_cfg=dict(type='GN', num_groups=4)), **_base_.tiny_query_head))
