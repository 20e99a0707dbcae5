# ORE on Faster R-CNN R50-C4 (the paper's detector; mmdet's caffe-style C4 model) for the OWOD splits.
_base_ = ['mmdet::_base_/models/faster-rcnn_r50-caffe-c4.py', './ore_owod_runtime.py']
model = dict(roi_head=dict(**_base_.ore_roi_head,
                          bbox_head=dict(type='OpenWorldBBoxHead', **_base_.ore_head)))
