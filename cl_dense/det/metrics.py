"""Open-world detection metrics: known mAP (previous / current / both), unknown AP and recall,
Wilderness Impact at several recall levels, A-OSE, and where the unknowns are lost (unknown
recall per unknown class, at score thresholds, and with any label)."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from mmdet.evaluation.functional import average_precision, bbox_overlaps
from mmdet.evaluation.functional.mean_ap import tpfp_default
from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric

from .datasets import OpenWorldTask

WI_RECALLS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
U_RECALL_SCORES = (0.05, 0.001)


def voc_matched_gts(dets: np.ndarray, gt_boxes: np.ndarray, ignore_boxes: np.ndarray,
                    iou_thr: float) -> np.ndarray:
    """Which ground truths the VOC matching of ``tpfp_default`` finds: detections in descending
    score each take their best-overlapping box (IoU >= ``iou_thr``) if it is a ground truth not
    taken yet (a best box that is ignored or taken: nothing).

    Args:
        dets: [n, 5] boxes and scores.
        gt_boxes: [g, 4]; ignore_boxes: [i, 4].

    Returns:
        [g] bool.
    """
    all_gts = np.vstack([gt_boxes.reshape(-1, 4), ignore_boxes.reshape(-1, 4)])
    matched = np.zeros(len(all_gts), dtype=bool)
    if len(dets) and len(all_gts):
        ious = bbox_overlaps(dets[:, :4], all_gts)
        best, target = ious.max(1), ious.argmax(1)
        for i in np.argsort(-dets[:, 4], kind='stable'):
            if best[i] >= iou_thr and target[i] < len(gt_boxes):
                matched[target[i]] = True
    return matched[:len(gt_boxes)]


def covered_gts(boxes: np.ndarray, gt_boxes: np.ndarray, iou_thr: float) -> np.ndarray:
    """[g] bool: ground truths [g, 4] that some box of ``boxes`` [n, >=4] overlaps with IoU >=
    ``iou_thr``."""
    if len(boxes) == 0 or len(gt_boxes) == 0:
        return np.zeros(len(gt_boxes), dtype=bool)
    return bbox_overlaps(gt_boxes.reshape(-1, 4), boxes[:, :4]).max(1) >= iou_thr


class ClassMatches:
    """Detections of one class over the dataset, sorted by score (descending), with their
    matching outcome.

    Attributes:
        tp, fp: [n] bool, VOC matching against the class's ground truth (a detection on an
            ignored ground truth is neither).
        open_error: [n] bool, false positives overlapping an unknown object (IoU >= thr).
        num_gts: ground truths of the class (ignored ones excluded).
    """

    def __init__(self, results: Sequence[tuple], label: int, unknown_label: int,
                 iou_thr: float) -> None:
        scores, tp, fp, open_error, self.num_gts = [], [], [], [], 0
        for ann, dets in results:
            gt_mask, ignore_mask = ann['labels'] == label, ann['labels_ignore'] == label
            self.num_gts += int(gt_mask.sum())
            det = dets[label]
            det_tp, det_fp = (row[0].astype(bool) for row in tpfp_default(
                det, ann['bboxes'][gt_mask], ann['bboxes_ignore'][ignore_mask], iou_thr))
            unknown_boxes = ann['bboxes'][ann['labels'] == unknown_label]
            on_unknown = np.zeros(len(det), dtype=bool)
            if len(det) and len(unknown_boxes):
                on_unknown = bbox_overlaps(det[:, :4], unknown_boxes).max(1) >= iou_thr
            scores.append(det[:, 4])
            tp.append(det_tp)
            fp.append(det_fp)
            open_error.append(det_fp & on_unknown)
        order = np.argsort(-np.concatenate(scores), kind='stable')
        self.scores = np.concatenate(scores)[order]
        self.tp = np.concatenate(tp)[order]
        self.fp = np.concatenate(fp)[order]
        self.open_error = np.concatenate(open_error)[order]

    def recall(self) -> np.ndarray:
        """[n] recall after each detection."""
        return np.cumsum(self.tp) / max(self.num_gts, 1)

    def recall_at_score(self, score_thr: float) -> float:
        """Recall of the detections with score >= ``score_thr`` (0 without ground truth)."""
        return float(self.tp[self.scores >= score_thr].sum()) / max(self.num_gts, 1)

    def ap(self, mode: str) -> float:
        """Average precision (``mode`` = ``'area'`` or ``'11points'``); 0 without detections."""
        if len(self.tp) == 0:
            return 0.0
        tp, fp = np.cumsum(self.tp), np.cumsum(self.fp)
        precision = tp / np.maximum(tp + fp, np.finfo(np.float32).eps)
        return float(average_precision(self.recall(), precision, mode))

    def wilderness_counts(self, recall_level: float) -> tuple[int, int]:
        """``(open-set errors, tp + closed-set fp)`` among the top detections up to the first one
        at which recall reaches ``recall_level`` (all detections when it never does)."""
        if len(self.tp) == 0:
            return 0, 0
        reached = np.nonzero(self.recall() >= recall_level - 1e-12)[0]
        stop = (reached[0] if len(reached) else len(self.tp) - 1) + 1
        open_errors = int(self.open_error[:stop].sum())
        closed = int(self.tp[:stop].sum() + (self.fp[:stop] & ~self.open_error[:stop]).sum())
        return open_errors, closed


@METRICS.register_module()
class OpenWorldMetric(BaseMetric):
    """ORE's open-world evaluation at IoU ``iou_thr`` on a dataset in ``labels='open'`` mode.

    Reported (``ow/`` prefix): ``known_mAP`` (classes known so far), ``prev_mAP`` (known before
    this task; absent in task 1), ``current_mAP`` (this task's classes), ``unknown_AP``,
    ``U_Recall`` (recall of the unknown class over all its detections; mAP and recall in percent),
    ``WI`` (Wilderness Impact at recall 0.8) and ``WI@r`` for every ``r`` in ``wi_recalls``,
    ``A_OSE`` (known-class false positives on unknown objects, counted per detection).

    Where unknowns are lost: ``U_Recall@s`` for every ``s`` in ``u_recall_scores`` (only the
    unknown detections with score >= s; meaningful down to the model's test ``score_thr``),
    ``U_Recall_any`` (unknown objects that some detection of *any* label and score overlaps with
    IoU >= ``iou_thr``: found, whatever it was called), and, when the dataset gives each ground
    truth its class (``source_labels`` in the metainfo, :class:`OpenWorldCocoDataset` does),
    ``U_Recall/<class>`` and ``unknown_gts/<class>`` per unknown class (VOC matching, as
    ``U_Recall``; their counts add up to it).

    WI at recall ``r`` = P_closed / P_open - 1 = (sum over known classes of open-set errors) /
    (sum of tp + closed-set fp), each class cut at its first detection with recall >= r (all its
    detections when it never reaches r). A detection is an open-set error when it is a false
    positive of its known class and overlaps an unknown object with IoU >= ``iou_thr``.

    Args:
        task: the dataset's task, ``dict(classes, known, current)``.
        iou_thr: matching IoU (0.5).
        ap_mode: ``'11points'`` (VOC07, what ORE reports) or ``'area'``.
        wi_recalls: recall levels of the WI curve (must contain 0.8).
        u_recall_scores: score thresholds of the ``U_Recall@s`` entries.
    """

    default_prefix: Optional[str] = 'ow'

    def __init__(self, task: dict, iou_thr: float = 0.5, ap_mode: str = '11points',
                 wi_recalls: Sequence[float] = WI_RECALLS,
                 u_recall_scores: Sequence[float] = U_RECALL_SCORES, collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.task = OpenWorldTask(**task)
        if ap_mode not in ('11points', 'area'):
            raise ValueError(f"ap_mode must be '11points' or 'area', got {ap_mode!r}")
        if not any(abs(r - 0.8) < 1e-9 for r in wi_recalls):
            raise ValueError(f'wi_recalls must contain 0.8 (the reported WI), got {wi_recalls}')
        self.iou_thr = iou_thr
        self.ap_mode = ap_mode
        self.wi_recalls = tuple(wi_recalls)
        self.u_recall_scores = tuple(u_recall_scores)

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Keep each image's ground truth (``gt_instances``, ``ignored_instances``, in original
        image coordinates), the ground truths' classes (``source_labels``, when given) and
        detections split by label (``[n, 5]`` boxes + score)."""
        num_classes = len(self.task.all_classes)
        for sample in data_samples:
            gt, ignored, pred = (sample[k] for k in ('gt_instances', 'ignored_instances',
                                                     'pred_instances'))
            ann = dict(bboxes=gt['bboxes'].cpu().numpy().reshape(-1, 4),
                       labels=gt['labels'].cpu().numpy(),
                       bboxes_ignore=ignored['bboxes'].cpu().numpy().reshape(-1, 4),
                       labels_ignore=ignored['labels'].cpu().numpy())
            if 'source_labels' in sample:
                ann['source_labels'] = np.asarray(sample['source_labels'], dtype=np.int64)
                if ann['source_labels'].shape != ann['labels'].shape:
                    raise ValueError(f"source_labels ({len(ann['source_labels'])}) must give one "
                                     f"class per ground truth ({len(ann['labels'])})")
            boxes = np.hstack([pred['bboxes'].cpu().numpy().reshape(-1, 4),
                               pred['scores'].cpu().numpy().reshape(-1, 1)])
            labels = pred['labels'].cpu().numpy()
            self.results.append((ann, [boxes[labels == c] for c in range(num_classes)]))

    def compute_metrics(self, results: list) -> dict:
        classes = tuple(self.dataset_meta['classes']) if self.dataset_meta else self.task.all_classes
        if classes != self.task.all_classes:
            raise ValueError(f'the dataset classes {classes} differ from the metric task classes '
                             f'{self.task.all_classes}')
        unknown = self.task.unknown_index
        matches = {c: ClassMatches(results, classes.index(c), unknown, self.iou_thr)
                   for c in self.task.known}
        unknown_matches = ClassMatches(results, unknown, unknown, self.iou_thr)
        metrics = {}
        for key, names in (('known_mAP', self.task.known), ('prev_mAP', self.task.previous()),
                           ('current_mAP', self.task.current)):
            if names:
                metrics[key] = 100.0 * float(np.mean([matches[c].ap(self.ap_mode) for c in names]))
        metrics['unknown_AP'] = 100.0 * unknown_matches.ap(self.ap_mode)
        recall = unknown_matches.recall()
        metrics['U_Recall'] = 100.0 * float(recall[-1]) if len(recall) else 0.0
        for r in self.wi_recalls:
            counts = np.array([m.wilderness_counts(r) for m in matches.values()]).sum(0)
            metrics[f'WI@{r:g}'] = float(counts[0] / counts[1]) if counts[1] else 0.0
        metrics['WI'] = metrics['WI@0.8']
        metrics['A_OSE'] = int(sum(int(m.open_error.sum()) for m in matches.values()))
        metrics['unknown_gts'] = unknown_matches.num_gts
        metrics.update(self.unknown_loss_metrics(results, unknown_matches))
        return metrics

    def unknown_loss_metrics(self, results: list, unknown_matches: ClassMatches) -> dict:
        """``U_Recall@s``, ``U_Recall_any`` and, with ``source_labels``, the per-class entries."""
        unknown = self.task.unknown_index
        metrics = {f'U_Recall@{s:g}': 100.0 * unknown_matches.recall_at_score(s)
                   for s in self.u_recall_scores}
        found, per_class = 0, {}
        for ann, dets in results:
            is_unknown = ann['labels'] == unknown
            unknown_boxes = ann['bboxes'][is_unknown]
            found += int(covered_gts(np.vstack(dets), unknown_boxes, self.iou_thr).sum())
            if 'source_labels' not in ann:
                per_class = None
            if per_class is None:
                continue
            matched = voc_matched_gts(dets[unknown], unknown_boxes,
                                      ann['bboxes_ignore'][ann['labels_ignore'] == unknown],
                                      self.iou_thr)
            for source, hit in zip(ann['source_labels'][is_unknown], matched):
                counts = per_class.setdefault(int(source), [0, 0])
                counts[0] += int(hit)
                counts[1] += 1
        metrics['U_Recall_any'] = 100.0 * found / max(unknown_matches.num_gts, 1)
        for source, (hits, total) in sorted((per_class or {}).items()):
            name = self.task.classes[source]
            metrics[f'U_Recall/{name}'] = 100.0 * hits / total
            metrics[f'unknown_gts/{name}'] = total
        return metrics
