# ORE on chess, task 2 exemplar fine-tuning: a balanced exemplar set of the training images
# (20 images per known class, seed 0), every known class labelled.
_base_ = ['./ore_faster-rcnn_r18-fpn-narrow_1xb4-300it_chess-t2-512x343.py']
train_dataloader = dict(dataset=dict(labels='known', exemplars=dict(items_per_class=20, seed=0)))
train_cfg = dict(max_iters=100, val_interval=100)
param_scheduler = [dict(type='ConstantLR', factor=0.1, by_epoch=False, begin=0, end=100)]
default_hooks = dict(checkpoint=dict(interval=100))
load_from = 'work_dirs/ore_faster-rcnn_r18-fpn-narrow_1xb4-300it_chess-t2-512x343/iter_300.pth'
# the clustering schedule scaled to 100 iterations (10 % / 2 % of the run, as the base config)
model = dict(roi_head=dict(bbox_head=dict(clustering=dict(start_iter=10, update_mu_iter=2))))
