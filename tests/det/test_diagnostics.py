"""Proposal recall on unknown objects and pseudo-label hits, counted on hand-built cases."""
import torch

from cl_dense.det.diagnostics import pseudo_label_hit_counts, proposal_recall_counts

UNK = 5
GT_BOXES = torch.tensor([[0.0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10], [60, 0, 70, 10]])
GT_LABELS = torch.tensor([0, UNK, UNK, UNK])


def test_proposal_recall_counts_unknown_objects_with_a_close_proposal():
    proposals = torch.tensor([[20.0, 0, 30, 10],    # IoU 1 with the first unknown
                              [40.0, 0, 46, 10],    # IoU 0.6 with the second
                              [60.0, 0, 64, 10],    # IoU 0.4 with the third
                              [0.0, 0, 10, 10]])    # the known object
    assert proposal_recall_counts(proposals, GT_BOXES, GT_LABELS, UNK) == (2, 3)
    assert proposal_recall_counts(proposals, GT_BOXES, GT_LABELS, UNK, iou_thr=0.3) == (3, 3)
    assert proposal_recall_counts(proposals[:0], GT_BOXES, GT_LABELS, UNK) == (0, 3)
    assert proposal_recall_counts(proposals, GT_BOXES[:1], GT_LABELS[:1], UNK) == (0, 0)


def test_pseudo_label_hits_use_only_the_known_ground_truth_for_the_picks():
    proposals = torch.tensor([[0.0, 0, 10, 11],      # on the known object: never a pick
                              [60.0, 0, 70, 10],     # on the third unknown: a hit
                              [100.0, 100, 120, 120],  # background: a miss
                              [20.0, 0, 30, 10]])    # on the first unknown: a hit
    scores = torch.tensor([0.99, 0.9, 0.8, 0.1])
    assert pseudo_label_hit_counts(proposals, scores, GT_BOXES, GT_LABELS, UNK, 1) == (1, 1)
    assert pseudo_label_hit_counts(proposals, scores, GT_BOXES, GT_LABELS, UNK, 2) == (1, 2)
    assert pseudo_label_hit_counts(proposals, scores, GT_BOXES, GT_LABELS, UNK, 3) == (2, 3)
    # the unknown boxes are not "known": a proposal on an unknown object stays a candidate
    assert pseudo_label_hit_counts(proposals[1:2], scores[1:2], GT_BOXES, GT_LABELS, UNK, 1) == (1, 1)
