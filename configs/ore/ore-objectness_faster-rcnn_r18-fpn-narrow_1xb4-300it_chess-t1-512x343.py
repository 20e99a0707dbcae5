# "ORE + objectness": the RPN's objectness trained as class-agnostic localisation quality
# (OLN-style ObjectnessRPNHead, _base_/objectness_rpn.py); otherwise the base config.
_base_ = ['./ore_faster-rcnn_r18-fpn-narrow_1xb4-300it_chess-t1-512x343.py',
          './_base_/objectness_rpn.py']
model = dict(rpn_head=_base_.objectness_rpn_head)
