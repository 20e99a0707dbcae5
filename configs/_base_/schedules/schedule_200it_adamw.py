# A short schedule for CPU runs from scratch on the small real datasets: AdamW lr 2e-3, poly decay
# over 200 iterations, one validation and one checkpoint at the end.
_base_ = 'mmseg::_base_/schedules/schedule_20k.py'
optimizer = dict(_delete_=True, type='AdamW', lr=2e-3, betas=(0.9, 0.999), weight_decay=1e-4)
optim_wrapper = dict(optimizer=optimizer)
param_scheduler = [dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=200, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=200, val_interval=200)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=200))
