# ORE R50-FPN task 2 training (annotations of its own classes only) on the OWOD splits.
_base_ = ['./_base_/ore_faster-rcnn_r50-fpn_owod.py']
task = _base_.owod_tasks['t2']
model = dict(roi_head=dict(bbox_head=dict(num_known_classes=len(task['known']))))
train_dataloader = dict(dataset=dict(task=task, labels='current',
                                     ann_file='VOC2007/ImageSets/Main/t2_train.txt'))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = val_dataloader
val_evaluator = dict(task=task)
test_evaluator = val_evaluator
load_from = 'work_dirs/ore_faster-rcnn_r50-fpn_8xb2-36k_owod-t1/iter_36000.pth'
