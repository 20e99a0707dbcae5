# ORE R50-FPN task 4 exemplar fine-tuning (ORE's balanced t4_ft list, every known class labelled) on the OWOD splits.
_base_ = ['./_base_/ore_faster-rcnn_r50-fpn_owod.py']
task = _base_.owod_tasks['t4']
model = dict(roi_head=dict(bbox_head=dict(num_known_classes=len(task['known']))))
train_dataloader = dict(dataset=dict(task=task, labels='known',
                                     ann_file='VOC2007/ImageSets/Main/t4_ft.txt'))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = val_dataloader
val_evaluator = dict(task=task)
test_evaluator = val_evaluator
load_from = 'work_dirs/ore_faster-rcnn_r50-fpn_8xb2-36k_owod-t4/iter_36000.pth'
train_cfg = dict(max_iters=5000, val_interval=5000)
param_scheduler = [dict(type='ConstantLR', factor=0.1, by_epoch=False, begin=0, end=5000)]
default_hooks = dict(checkpoint=dict(interval=5000))
