_base_ = [
    'mmseg::ocrnet/ocrnet_hr48_4xb2-40k_cityscapes-512x1024.py',
    '../_base_/contrast/pixcontrast-mem_hrnet48-ocr.py',
]
custom_imports = dict(imports=['cl_dense.seg'], allow_failed_imports=False)
model = _base_.contrast_model
