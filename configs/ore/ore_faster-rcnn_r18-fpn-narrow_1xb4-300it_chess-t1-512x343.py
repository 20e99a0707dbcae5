# ORE on chess (../shared/data/chess), task 1: pawns, knights and bishops (both colours) known;
# rooks, queens and kings unknown (task 2 introduces them).
_base_ = ['./_base_/ore_r18-fpn-narrow_cpu.py']
data_root = '../shared/data/chess/'
chess_t1 = ['white-pawn', 'black-pawn', 'white-knight', 'black-knight', 'white-bishop', 'black-bishop']
chess_t2 = ['white-rook', 'black-rook', 'white-queen', 'black-queen', 'white-king', 'black-king']
task = dict(classes=chess_t1 + chess_t2, known=chess_t1, current=chess_t1)
image_scale = (512, 343)
train_pipeline = [*_base_.train_pipeline[:2], dict(type='Resize', scale=image_scale, keep_ratio=True),
                  *_base_.train_pipeline[3:]]
test_pipeline = [_base_.test_pipeline[0], dict(type='Resize', scale=image_scale, keep_ratio=True),
                 *_base_.test_pipeline[2:]]
model = dict(roi_head=dict(bbox_head=dict(num_classes=13, num_known_classes=6)))
train_dataloader = dict(dataset=dict(
    data_root=data_root, task=task, ann_file='train/annotations.coco.json',
    data_prefix=dict(img='train/'), pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(
    data_root=data_root, task=task, ann_file='valid/annotations.coco.json',
    data_prefix=dict(img='valid/'), pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(task=task)
test_evaluator = val_evaluator
