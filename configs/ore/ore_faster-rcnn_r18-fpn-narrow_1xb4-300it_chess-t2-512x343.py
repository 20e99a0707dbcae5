# ORE on chess, task 2: rooks, queens and kings introduced (trained on their annotations only),
# starting from the task-1 model; nothing is unknown any more in evaluation.
_base_ = ['./ore_faster-rcnn_r18-fpn-narrow_1xb4-300it_chess-t1-512x343.py']
task = dict(classes=_base_.chess_t1 + _base_.chess_t2, known=_base_.chess_t1 + _base_.chess_t2,
            current=_base_.chess_t2)
model = dict(roi_head=dict(bbox_head=dict(num_known_classes=12)))
train_dataloader = dict(dataset=dict(task=task))
val_dataloader = dict(dataset=dict(task=task))
test_dataloader = val_dataloader
val_evaluator = dict(task=task)
test_evaluator = val_evaluator
load_from = 'work_dirs/ore_faster-rcnn_r18-fpn-narrow_1xb4-300it_chess-t1-512x343/iter_300.pth'
