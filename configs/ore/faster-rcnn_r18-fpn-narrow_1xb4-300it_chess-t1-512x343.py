# The plain Faster R-CNN baseline of the ORE config: same data, schedule, evaluation and head
# classes; no unknown pseudo ground truth (num_unknown=0), no clustering. The head is the
# open-world head without its open-world training parts: its "unknown" logit is never a target,
# and it gives each detection its energy, so EBUI can be fitted on this detector
# ("Faster R-CNN + EBUI", tools/analysis_tools/compare_ore.py).
_base_ = ['./ore_faster-rcnn_r18-fpn-narrow_1xb4-300it_chess-t1-512x343.py']
model = dict(roi_head=dict(num_unknown=0, bbox_head=dict(clustering=None)))
