# ORE on Faster R-CNN R50-FPN (mmdet's model) for the OWOD splits.
_base_ = ['mmdet::_base_/models/faster-rcnn_r50_fpn.py', './ore_owod_runtime.py']
model = dict(roi_head=dict(**_base_.ore_roi_head,
                          bbox_head=dict(type='OpenWorldShared2FCBBoxHead', **_base_.ore_head)))
