# What every GLCNet pretraining config shares: the photometric augmentation of each view, the
# unlabelled-folder loader and SGD. A leaf sets the model, data_root/sub_dirs, batch size,
# train_pipeline (image scale, crop; reusing `colour` as {{_base_.colour}}), lr and schedule.
_base_ = ['./selfsup_runtime.py']
# applied to each of the two views independently by OverlappingViews, after their exact
# crop / flip / quarter-turn geometry: nothing geometric (flip, crop, resize) in here
colour = dict(type='TorchvisionAugment', transforms=[
    dict(type='RandomApply', p=0.8, transforms=[
        dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)]),
    dict(type='RandomGrayscale', p=0.2),
    dict(type='RandomApply', p=0.5, transforms=[
        dict(type='GaussianBlur', kernel_size=9, sigma=(0.1, 2.0))])])
train_dataloader = dict(
    num_workers=2, persistent_workers=True, drop_last=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='UnlabelledImageFolder', check='header'))
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.03, momentum=0.9, weight_decay=1e-4))
log_processor = dict(by_epoch=False)
