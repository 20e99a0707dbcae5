# The plain Faster R-CNN baseline of the ORE chess task-1 config: same data, schedule and
# evaluation, the plain head (6 known classes) and mmdet's RandomSampler.
_base_ = ['./ore_faster-rcnn_r18-fpn-narrow_1xb4-300it_chess-t1-512x343.py']
model = dict(roi_head=dict(bbox_head=dict(_base_.plain_bbox_head, _delete_=True, num_classes=6)),
             train_cfg=dict(rcnn=dict(sampler=dict(
                 _delete_=True, type='RandomSampler', num=512, pos_fraction=0.25, neg_pos_ub=-1,
                 add_gt_as_proposals=True))))
