# BYOL R-50 on ImageNet-1k: mmpretrain's own config, inherited from the installed package
# (mmpretrain::byol/byol_resnet50_16xb256-coslr-200e_in1k.py),
# run through tools/train.py on our UnlabelledImageFolder over data/imagenet/train (folder
# layout <class>/*.JPEG; the classes are not used) as
# configs/detco/detco_resnet50_8xb32-coslr-200e_in1k.py, with mmcv's adjust_hue made
# numpy-2-safe (cl_dense.selfsup.mmpretrain_compat). Everything else (model, views, LARS,
# schedule) is mmpretrain's. Export: tools/model_converters/detco_to_backbone.py CKPT OUT.pth
# (prefix `backbone.`); it loads into configs/detco/transfer/*_detco-in1k_*.py.
_base_ = ['mmpretrain::byol/byol_resnet50_16xb256-coslr-200e_in1k.py']
custom_imports = dict(imports=['cl_dense.selfsup.mmpretrain_compat'], allow_failed_imports=False)
train_dataloader = dict(dataset=dict(
    _delete_=True, type='UnlabelledImageFolder', data_root='data/imagenet', sub_dirs=['train'],
    check='none', pipeline={{_base_.train_pipeline}}))
