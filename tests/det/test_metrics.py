"""OpenWorldMetric on hand-built detections: exact WI and A-OSE counts, AP, U-Recall; AP agrees
with mmdet's eval_map on a random case."""
import numpy as np
import pytest
import torch
from mmdet.evaluation.functional import eval_map

from cl_dense.det.metrics import OpenWorldMetric

# task: a known before (previous), b introduced now (current), c not yet known -> unknown (3)
TASK = dict(classes=['a', 'b', 'c'], known=['a', 'b'], current=['b'])
A, B, UNK = 0, 1, 3


def _sample(gts, dets, ignored=()):
    def boxes(rows):
        return torch.tensor([r[0] for r in rows], dtype=torch.float32).reshape(-1, 4)
    return dict(
        gt_instances=dict(bboxes=boxes(gts), labels=torch.tensor([r[1] for r in gts], dtype=torch.long)),
        ignored_instances=dict(bboxes=boxes(ignored),
                               labels=torch.tensor([r[1] for r in ignored], dtype=torch.long)),
        pred_instances=dict(bboxes=boxes(dets), labels=torch.tensor([r[1] for r in dets]),
                            scores=torch.tensor([r[2] for r in dets])))


def _hand_built():
    image1 = _sample(
        gts=[([0, 0, 10, 10], A), ([20, 0, 30, 10], UNK), ([40, 0, 50, 10], UNK)],
        dets=[([0, 0, 10, 10], A, 0.9),      # a: tp
              ([20, 0, 30, 10], A, 0.8),     # a: fp on an unknown object -> open-set error
              ([40, 0, 50, 10], B, 0.7),     # b: fp on an unknown object -> open-set error
              ([40, 0, 50, 10], UNK, 0.6),   # unknown: tp
              ([60, 60, 70, 70], B, 0.5)])   # b: closed-set fp
    image2 = _sample(
        gts=[([0, 0, 10, 10], B), ([60, 0, 70, 10], A)],
        dets=[([0, 0, 10, 10], B, 0.95),     # b: tp
              ([30, 30, 40, 40], A, 0.4),    # a: closed-set fp
              ([60, 0, 70, 10], A, 0.3)])    # a: tp
    return [image1, image2]


def _evaluate(samples, **kwargs):
    metric = OpenWorldMetric(task=TASK, **kwargs)
    metric.dataset_meta = dict(classes=('a', 'b', 'c', 'unknown'))
    metric.process({}, samples)
    return metric.compute_metrics(metric.results)


def test_hand_built_counts():
    m = _evaluate(_hand_built())
    # a sorted: tp .9, open .8, closed fp .4, tp .3 (2 gts); recall 0.8 first reached at the 4th:
    #   open errors 1, tp + closed fp = 2 + 1; b: recall 1 at its first detection (tp): 0 and 1
    assert m['WI@0.8'] == pytest.approx(1 / 4) and m['WI'] == m['WI@0.8']
    # recall 0.5 is reached by both classes at their first detection (a tp each): no open error
    assert m['WI@0.5'] == 0.0
    # recall 1.0: a as at 0.8, b at its first detection
    assert m['WI@1'] == pytest.approx(1 / 4)
    assert m['A_OSE'] == 2
    # 11-point AP: a precisions [1, .5, .33, .5] at recalls [.5, .5, .5, 1] -> (6 * 1 + 5 * .5) / 11
    ap_a, ap_b, ap_unknown = 100 * 8.5 / 11, 100.0, 100 * 6 / 11
    assert m['prev_mAP'] == pytest.approx(ap_a)
    assert m['current_mAP'] == pytest.approx(ap_b)
    assert m['known_mAP'] == pytest.approx((ap_a + ap_b) / 2)
    assert m['unknown_AP'] == pytest.approx(ap_unknown)
    assert m['U_Recall'] == pytest.approx(50.0) and m['unknown_gts'] == 2


def test_ignored_ground_truth_neither_tp_nor_fp():
    sample = _sample(gts=[([0, 0, 10, 10], A)], ignored=[([20, 0, 30, 10], A)],
                     dets=[([20, 0, 30, 10], A, 0.9), ([0, 0, 10, 10], A, 0.8)])
    m = _evaluate([sample], ap_mode='area')
    assert m['known_mAP'] == pytest.approx(50.0)  # a: AP 100, b: no detection -> 0
    assert m['A_OSE'] == 0 and m['U_Recall'] == 0.0


def test_ap_agrees_with_mmdet_eval_map():
    rng = np.random.default_rng(0)
    samples, det_results, annotations = [], [], []
    for _ in range(6):
        gts = [(list(xy) + list(xy + rng.uniform(5, 20, 2)), int(rng.integers(0, 4)))
               for xy in rng.uniform(0, 80, (5, 2))]
        dets = []
        for box, label in gts:
            jitter = rng.normal(0, 2, 4)
            dets.append(((np.array(box) + jitter).tolist(), label if rng.random() < .7 else A,
                         float(rng.random())))
        dets += [(list(xy) + list(xy + 10), int(rng.integers(0, 4)), float(rng.random()))
                 for xy in rng.uniform(0, 80, (4, 2))]
        samples.append(_sample(gts, dets))
    for mode in ('area', '11points'):
        m = _evaluate(samples, ap_mode=mode)
        metric = OpenWorldMetric(task=TASK)
        metric.process({}, samples)
        for ann, dets in metric.results:
            det_results.append(dets)
            annotations.append(ann)
        _, per_class = eval_map(det_results, annotations, iou_thr=0.5, eval_mode=mode, nproc=1,
                                logger='silent')
        det_results.clear()
        annotations.clear()
        assert m['known_mAP'] == pytest.approx(100 * np.mean([per_class[A]['ap'], per_class[B]['ap']]))
        assert m['unknown_AP'] == pytest.approx(100 * per_class[UNK]['ap'])
        assert m['U_Recall'] == pytest.approx(100 * per_class[UNK]['recall'][-1])


def test_class_mismatch_and_bad_arguments_raise():
    metric = OpenWorldMetric(task=TASK)
    metric.dataset_meta = dict(classes=('a', 'b', 'unknown'))
    with pytest.raises(ValueError, match='differ'):
        metric.compute_metrics([])
    with pytest.raises(ValueError, match='ap_mode'):
        OpenWorldMetric(task=TASK, ap_mode='coco')
    with pytest.raises(ValueError, match='0.8'):
        OpenWorldMetric(task=TASK, wi_recalls=(0.5,))


# where unknowns are lost: a known, c and d unknown (label 4)
TASK_CD = dict(classes=['a', 'b', 'c', 'd'], known=['a'], current=['a'])
SRC_C, SRC_D, UNK4 = 2, 3, 4


def _lost_unknowns_sample(with_sources=True):
    sample = _sample(
        gts=[([0, 0, 10, 10], A), ([20, 0, 30, 10], UNK4), ([40, 0, 50, 10], UNK4),
             ([60, 0, 70, 10], UNK4), ([80, 0, 90, 10], UNK4)],
        dets=[([0, 0, 10, 10], A, 0.95),      # known tp
              ([20, 0, 30, 10], UNK4, 0.9),   # unknown tp (a c)
              ([20, 0, 30, 10], UNK4, 0.5),   # duplicate: fp
              ([40, 0, 50, 10], UNK4, 0.02),  # unknown tp (a d) below score 0.05
              ([60, 0, 70, 10], A, 0.8)])     # a d found but called a
    if with_sources:                          # the c at x=80 is never found
        sample['source_labels'] = [0, SRC_C, SRC_D, SRC_D, SRC_C]
    return sample


def _evaluate_cd(samples):
    metric = OpenWorldMetric(task=TASK_CD)
    metric.dataset_meta = dict(classes=('a', 'b', 'c', 'd', 'unknown'))
    metric.process({}, samples)
    return metric.compute_metrics(metric.results)


def test_unknown_recall_per_class_at_scores_and_with_any_label():
    m = _evaluate_cd([_lost_unknowns_sample()])
    assert m['unknown_gts'] == 4
    assert m['U_Recall'] == pytest.approx(50.0)          # the c at 20 and the d at 40
    assert m['U_Recall@0.05'] == pytest.approx(25.0)     # the d's detection scores 0.02
    assert m['U_Recall@0.001'] == pytest.approx(50.0)
    assert m['U_Recall_any'] == pytest.approx(75.0)      # plus the d called "a"
    assert m['U_Recall/c'] == pytest.approx(50.0) and m['unknown_gts/c'] == 2
    assert m['U_Recall/d'] == pytest.approx(50.0) and m['unknown_gts/d'] == 2
    assert not any(k.startswith('U_Recall/') and k[9:] in ('a', 'b') for k in m)


def test_without_source_labels_no_per_class_entries_and_mismatch_raises():
    m = _evaluate_cd([_lost_unknowns_sample(with_sources=False)])
    assert m['U_Recall_any'] == pytest.approx(75.0)
    assert not any(k.startswith('U_Recall/') for k in m)
    bad = _lost_unknowns_sample()
    bad['source_labels'] = [0, 2]
    with pytest.raises(ValueError, match='source_labels'):
        _evaluate_cd([bad])


def test_voc_matching_of_ground_truths():
    from cl_dense.det.metrics import voc_matched_gts
    gts = np.array([[0, 0, 10, 10], [20, 0, 30, 10]], dtype=np.float32)
    ignore = np.array([[40, 0, 50, 10]], dtype=np.float32)
    dets = np.array([[0, 0, 10, 10, 0.3],     # takes gt 0
                     [1, 0, 11, 10, 0.9],     # best box gt 0 too, higher score: takes it first
                     [40, 0, 50, 10, 0.8],    # on the ignored box: nothing
                     [20, 0, 26, 10, 0.7]],   # IoU 0.6 with gt 1
                    dtype=np.float32)
    assert voc_matched_gts(dets, gts, ignore, 0.5).tolist() == [True, True]
    assert voc_matched_gts(dets, gts, ignore, 0.7).tolist() == [True, False]
    assert voc_matched_gts(dets[:0], gts, ignore, 0.5).tolist() == [False, False]
