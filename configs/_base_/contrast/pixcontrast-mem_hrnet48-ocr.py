# ./pixcontrast-mem_resnet.py (memory banks) with the HRNet-W48 + OCR head of
# ./pixcontrast_hrnet48-ocr.py.
_base_ = './pixcontrast-mem_resnet.py'
contrast_model = dict(
    type='ContrastCascadeEncoderDecoder',
    contrast_head=dict(in_channels=[48, 96, 192, 384], in_index=[0, 1, 2, 3]))
