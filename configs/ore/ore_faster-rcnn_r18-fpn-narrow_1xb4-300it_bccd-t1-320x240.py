# ORE on BCCD (../shared/data/bccd): RBC and WBC known, Platelets unknown (they would be task 2).
_base_ = ['./_base_/ore_r18-fpn-narrow_cpu.py']
data_root = '../shared/data/bccd/'
task = dict(classes=['RBC', 'WBC', 'Platelets'], known=['RBC', 'WBC'], current=['RBC', 'WBC'])
model = dict(roi_head=dict(bbox_head=dict(num_classes=4, num_known_classes=2)))
train_dataloader = dict(dataset=dict(data_root=data_root, task=task,
                                     ann_file='coco_derived/bccd_train.json',
                                     data_prefix=dict(img='BCCD/JPEGImages/')))
val_dataloader = dict(dataset=dict(data_root=data_root, task=task,
                                   ann_file='coco_derived/bccd_val.json',
                                   data_prefix=dict(img='BCCD/JPEGImages/')))
test_dataloader = val_dataloader
val_evaluator = dict(task=task)
test_evaluator = val_evaluator
