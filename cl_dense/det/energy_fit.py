"""Energies of RoIs on a held-out split, for fitting the EBUI Weibull models (both protocols)."""
from __future__ import annotations

from typing import Iterable

import numpy as np
import torch
from mmdet.structures.bbox import bbox2roi
from torchvision.ops import box_iou

from .auto_label import select_unknown_proposals
from .diagnostics import input_scale_gt
from .energy import PROTOCOLS, WeibullEnergyModel


@torch.no_grad()
def batch_roi_energies(model, data_batch: dict, protocol: str, num_unknown: int = 1,
                       iou_thr: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Known and unknown RoI energies of one batch.

    The RPN proposals of each image (test settings) go through the RoI head; the energy of a RoI is
    the open-world bbox head's ``known_energies`` (its T). Known energies: proposals with IoU >=
    ``iou_thr`` to a ground truth of a known class. Unknown energies: with ``protocol='paper'``,
    proposals with IoU >= ``iou_thr`` to an "unknown" ground truth (the split has unknown labels);
    with ``'leakage_free'``, the split must have no unknown labels and the unknowns are the
    auto-labeller's picks (the ``num_unknown`` proposals with the highest objectness among those
    with IoU < ``iou_thr`` to every ground truth).

    Args:
        model: a two-stage detector whose ``roi_head.bbox_head`` is an open-world head.
        data_batch: a batch of the split's data loader (ground truth in original image
            coordinates, as the test pipelines load it).

    Returns:
        ``(known [n], unknown [m])`` float64 energies.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f'protocol must be one of {PROTOCOLS}, got {protocol!r}')
    head = model.roi_head.bbox_head
    data = model.data_preprocessor(data_batch, False)
    samples = data['data_samples']
    feats = model.extract_feat(data['inputs'])
    proposals = model.rpn_head.predict(feats, samples, rescale=False)
    rois = bbox2roi([p.bboxes for p in proposals])
    energies = head.known_energies(model.roi_head._bbox_forward(feats, rois)['cls_score'])
    energies = energies.split([len(p) for p in proposals])
    known, unknown = [], []
    for sample, props, energy in zip(samples, proposals, energies):
        gt_boxes, gt_labels = input_scale_gt(sample)
        is_unknown_gt = gt_labels == head.unknown_index
        if protocol == 'leakage_free' and bool(is_unknown_gt.any()):
            raise ValueError('the leakage-free protocol needs a split without unknown labels '
                             "(dataset labels='known'); this batch has some")
        if len(gt_boxes) and len(props):
            iou, match = box_iou(props.bboxes, gt_boxes).max(1)
            hit = iou >= iou_thr
            known.append(energy[hit & ~is_unknown_gt[match]])
            if protocol == 'paper':
                unknown.append(energy[hit & is_unknown_gt[match]])
        if protocol == 'leakage_free':
            picks = select_unknown_proposals(props.bboxes, props.scores, gt_boxes, num_unknown,
                                             iou_thr)
            unknown.append(energy[picks])
    return _as_array(known), _as_array(unknown)


def _as_array(parts: list) -> np.ndarray:
    return torch.cat(parts).double().cpu().numpy() if parts else np.zeros(0)


def fit_energy_model(model, batches: Iterable[dict], protocol: str, num_unknown: int = 1,
                     iou_thr: float = 0.5, rule: str = 'threshold') -> WeibullEnergyModel:
    """Collect the RoI energies of every batch (:func:`batch_roi_energies`) and fit the two
    Weibull models with the head's temperature (``rule``: the decision rule stored in the fit)."""
    model.eval()
    known, unknown = [], []
    for batch in batches:
        k, u = batch_roi_energies(model, batch, protocol, num_unknown, iou_thr)
        known.append(k)
        unknown.append(u)
    return WeibullEnergyModel.fit(np.concatenate(known), np.concatenate(unknown),
                                  model.roi_head.bbox_head.energy_temperature, protocol, rule)
