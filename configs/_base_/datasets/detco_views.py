# DetCo's views (MoCo v2 augmentations): 2 global views (random-resized crop 224) and 2 jigsaw
# sets (random-resized crop 255 cut into 3x3 cells of 85 px, a random 64 px crop per cell, an
# independent permutation per sample). A leaf with other sizes redefines the two crops, the two
# view lists and train_pipeline, reusing `colour` as {{_base_.colour}}.
colour = dict(type='TorchvisionAugment', transforms=[
    dict(type='RandomApply', p=0.8, transforms=[
        dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)]),
    dict(type='RandomGrayscale', p=0.2),
    dict(type='RandomApply', p=0.5, transforms=[
        dict(type='GaussianBlur', kernel_size=23, sigma=(0.1, 2.0))]),
    dict(type='RandomHorizontalFlip')])
global_view = [
    dict(type='TorchvisionAugment', transforms=[
        dict(type='RandomResizedCrop', size=224, scale=(0.2, 1.0), antialias=True)]),
    colour]
jigsaw_view = [
    dict(type='TorchvisionAugment', transforms=[
        dict(type='RandomResizedCrop', size=255, scale=(0.2, 1.0), antialias=True)]),
    colour,
    dict(type='Jigsaw', grid=3, cell_size=85, patch_size=64)]
train_pipeline = [
    dict(type='LoadImage', channels=3),  # grey (EM, X-ray) images become 3 equal channels
    dict(type='MultiView', views=[dict(name='global', num=2, pipeline=global_view),
                                  dict(name='jigsaw', num=2, pipeline=jigsaw_view)]),
]
