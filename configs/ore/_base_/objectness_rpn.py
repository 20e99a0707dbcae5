# "ORE + objectness": the RPN's objectness trained as class-agnostic localisation quality, OLN-style
# (cl_dense.det.ObjectnessRPNHead): centerness of the anchors with IoU >= 0.3 to a ground truth
# (256 per image), L1 on the sigmoid, no negatives; the unknown auto-labeller ranks proposals by it.
objectness_rpn_head = dict(type='ObjectnessRPNHead', quality='centerness', objectness_pos_iou=0.3,
                           objectness_num=256, loss_objectness=dict(type='L1Loss', loss_weight=1.0))
