# In-batch pixel contrast (Wang et al., ICCV 2021) with the ContrastiveSeg defaults, for segmentors
# on ResNet-50/101: the projection head embeds backbone stage 4 (2048 channels; stride 8 with the
# dilated "-d8" backbones). This base defines no `model`: it holds the change to make to one, as
# `contrast_model`. A leaf lists it after its upstream config and applies it:
#   _base_ = ['mmseg::deeplabv3/deeplabv3_r50-d8_4xb2-40k_cityscapes-512x1024.py',
#             '../_base_/contrast/pixcontrast_resnet.py']
#   custom_imports = dict(imports=['cl_dense.seg'], allow_failed_imports=False)
#   model = _base_.contrast_model
# num_classes and ignore_index of the loss are taken from the decode head.
contrast_model = dict(
    type='ContrastEncoderDecoder',
    contrast_head=dict(
        type='ContrastProjectionHead', in_channels=2048, in_index=3, proj_dim=256,
        norm_cfg=dict(type='SyncBN', requires_grad=True)),
    contrast_loss=dict(
        type='PixelContrastLoss',
        temperature=0.1,
        base_temperature=0.07,
        max_samples=1024,
        max_views=100,
        loss_weight=0.1),
    # the contrast term is switched on after this many iterations
    contrast_warmup_iters=5000)
