_base_ = [
    './unet-s5-d16_fcn_4xb4-40k_synapse-224x224.py',
    '../_base_/contrast/pixcontrast-mem_unet.py',
]
custom_imports = dict(imports=['cl_dense.seg'], allow_failed_imports=False)
model = _base_.contrast_model
