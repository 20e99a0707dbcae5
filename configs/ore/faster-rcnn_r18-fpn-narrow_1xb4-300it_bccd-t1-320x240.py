# The plain Faster R-CNN baseline of the ORE BCCD config: same data, schedule and evaluation, the
# plain head (2 known classes) and mmdet's RandomSampler (no auto-labelling, no clustering).
_base_ = ['./ore_faster-rcnn_r18-fpn-narrow_1xb4-300it_bccd-t1-320x240.py']
model = dict(roi_head=dict(bbox_head=dict(_base_.plain_bbox_head, _delete_=True, num_classes=2)),
             train_cfg=dict(rcnn=dict(sampler=dict(
                 _delete_=True, type='RandomSampler', num=512, pos_fraction=0.25, neg_pos_ub=-1,
                 add_gt_as_proposals=True))))
