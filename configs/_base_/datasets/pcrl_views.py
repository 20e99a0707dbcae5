# PCRL's two views per image: a random-resized square crop (the reconstruction target), then random
# flips, 90-degree rotation and in-/out-painting (PCRLTransform, which also writes the code).
# MultiView packs inputs 'view' [2, C, S, S], 'view_target' [2, C, S, S], 'view_code' [2, 8].
crop = 96
view = [
    dict(type='TorchvisionAugment', transforms=[
        dict(type='RandomResizedCrop', size=crop, scale=(0.2, 1.0), antialias=True)]),
    dict(type='PCRLTransform', flip_prob=0.5, rotate=True, paint_prob=0.8)]
train_pipeline = [
    dict(type='LoadImage', channels=3),
    dict(type='MultiView', views=[dict(name='view', num=2, pipeline=view)],
         extra_keys=('target', 'code')),
]
train_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True, drop_last=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='UnlabelledImageFolder', data_root='../shared/data', sub_dirs=['unset'],
                 check='header', pipeline=train_pipeline))
