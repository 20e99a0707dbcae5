# ./pixcontrast_resnet.py for mmseg's OCRNet HRNet-W48 (a CascadeEncoderDecoder): the projection
# head embeds the four HRNet levels, resized to stride 4 and concatenated (720 channels, as
# ContrastiveSeg's HRNet models do); hard/easy sampling uses the OCR head's logits.
_base_ = './pixcontrast_resnet.py'
contrast_model = dict(
    type='ContrastCascadeEncoderDecoder',
    contrast_head=dict(in_channels=[48, 96, 192, 384], in_index=[0, 1, 2, 3]))
