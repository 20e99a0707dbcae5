# mmseg's K-Net (iterative kernel updates; its decode head returns every stage's logits in
# training) on an 8-channel ResNetV1c-18-D8 with an FCN kernel generator, 16-dim kernels.
_base_ = ['mmseg::knet/knet-s3_r50-d8_fcn_8xb2-adamw-80k_ade20k-512x512.py']
num_stages = 2
model = dict(
    backbone=dict(depth=18, stem_channels=8, base_channels=8),
    decode_head=dict(
        num_stages=num_stages,
        kernel_update_head=[
            dict(type='KernelUpdateHead', num_classes=5, num_ffn_fcs=2, num_heads=2,
                 num_mask_fcs=1, feedforward_channels=32, in_channels=16, out_channels=16,
                 dropout=0.0, conv_kernel_size=1, ffn_act_cfg=dict(type='ReLU', inplace=True),
                 with_ffn=True, feat_transform_cfg=dict(conv_cfg=dict(type='Conv2d'),
                                                        act_cfg=None),
                 kernel_updator_cfg=dict(type='KernelUpdator', in_channels=16, feat_channels=16,
                                         out_channels=16,
                                         act_cfg=dict(type='ReLU', inplace=True),
                                         norm_cfg=dict(type='LN')))
            for _ in range(num_stages)],
        kernel_generate_head=dict(in_channels=64, channels=16)),
    auxiliary_head=dict(in_channels=32, channels=8))
contrast_head = dict(in_channels=64, in_index=3)  # stage 4, stride 8
