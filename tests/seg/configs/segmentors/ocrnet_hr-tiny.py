# mmseg's OCRNet (CascadeEncoderDecoder: HRNet, FCN head, then OCR head) with the tiny HRNet.
_base_ = ['mmseg::_base_/models/ocrnet_hr18.py', './_hrnet-tiny.py']
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(extra={{_base_.hrnet}}),
    decode_head=[
        dict(type='FCNHead', in_channels=[4, 8, 16, 32], in_index=(0, 1, 2, 3), channels=60,
             input_transform='resize_concat', kernel_size=1, num_convs=1, concat_input=False,
             dropout_ratio=-1, num_classes=5, norm_cfg=norm_cfg, align_corners=False,
             loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
        dict(type='OCRHead', in_channels=[4, 8, 16, 32], in_index=(0, 1, 2, 3),
             input_transform='resize_concat', channels=16, ocr_channels=8, dropout_ratio=-1,
             num_classes=5, norm_cfg=norm_cfg, align_corners=False,
             loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    ])
