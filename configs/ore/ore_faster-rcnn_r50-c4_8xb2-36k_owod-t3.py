# ORE R50-C4 (paper) task 3 training (annotations of its own classes only) on the OWOD splits.
_base_ = ['./_base_/ore_faster-rcnn_r50-c4_owod.py']
task = _base_.owod_tasks['t3']
model = dict(roi_head=dict(bbox_head=dict(num_known_classes=len(task['known']))))
train_dataloader = dict(dataset=dict(task=task, labels='current',
                                     ann_file='VOC2007/ImageSets/Main/t3_train.txt'))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = val_dataloader
val_evaluator = dict(task=task)
test_evaluator = val_evaluator
load_from = 'work_dirs/ore_faster-rcnn_r50-c4_8xb2-5k_owod-t2-ft/iter_5000.pth'
