# aerial_dubai with a held-out split for tuning without peeking (pixel contrast comparison):
# train = tiles 1-6 (54 images), val = tile 7 (9 images: curves, checkpoint choice, the settings
# sweep), test = tile 8 (9 images: final numbers only; all 6 classes occur there).
# Label budgets: train_dataloader.dataset.label_fraction=0.25 keeps a fixed random 14 of the 54
# (subset_seed picks which; budgets are nested).
_base_ = ['./aerial_dubai.py']
split_tiles = dict(val_tiles=(7, ), test_tiles=(8, ))
train_dataloader = dict(dataset=dict(split='train', **split_tiles))
val_dataloader = dict(dataset=dict(split='val', **split_tiles))
test_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type={{_base_.dataset_type}}, data_root={{_base_.data_root}}, split='test',
                 pipeline={{_base_.test_pipeline}}, **split_tiles))
val_evaluator = dict(type='PerClassIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
