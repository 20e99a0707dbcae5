# CPU-sized GLCNet pretraining on the isbi_em slices (train images + the unlabelled test slices;
# labels unused), otherwise as the aerial_dubai config. The 512 px grey slices are resized to a
# random 384-640 px side (the fine-tuning scale) and replicated to 3 channels.
# Fine-tune with
#   configs/detco/transfer/deeplabv3_r18-tiny-d8_detco-shared-pool_1xb4-200it_isbi-em-256x256.py
#   --cfg-options model.backbone.init_cfg.checkpoint=backbone.pth
_base_ = ['./glcnet_deeplabv3_r18-tiny-d8_1xb8-300it_aerial-dubai.py']
image_scale = dict(min_size=384, max_size=640)
train_pipeline = [
    dict(type='LoadImage', channels=3),
    dict(type='TorchvisionAugment', transforms=[
        dict(type='RandomResize', antialias=True, **image_scale)]),
    dict(type='OverlappingViews', crop_size=96, max_shift=0.5, view_pipeline=[{{_base_.colour}}]),
]
train_dataloader = dict(dataset=dict(sub_dirs=['isbi_em/train/image', 'isbi_em/test'],
                                     pipeline=train_pipeline))
