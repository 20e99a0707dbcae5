"""Open-world bbox heads: an "unknown" class, logit masking of classes not yet introduced,
contrastive clustering of the classifier's input features and the energy-based unknown identifier.
"""
from typing import Optional

import torch
from mmdet.models.layers import multiclass_nms
from mmdet.models.roi_heads.bbox_heads import BBoxHead, Shared2FCBBoxHead
from mmdet.registry import MODELS
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor, nn

from ..memory import ClassPrototypes
from .energy import RULES, WeibullEnergyModel, energy_score

EBUI_MODES = ('off', 'on')
DEFAULT_CLUSTERING = dict(items_per_class=20, start_iter=1000, update_mu_iter=3000, momentum=0.99,
                          background_prototype=True,
                          loss=dict(type='PrototypeClusteringLoss', margin=10.0, loss_weight=0.1))


class OpenWorldHeadMixin:
    """Turns an mmdet bbox head into ORE's open-world head (put it before the head class).

    Class layout (``num_classes`` of the head, the mmdet meaning): ``[0, num_known_classes)`` are
    the classes known so far, ``[num_known_classes, num_classes - 1)`` the classes of later tasks
    (their logits are masked to -inf in every forward: never predicted, never a target), index
    ``num_classes - 1`` is "unknown" and ``num_classes`` the background.

    Training: unknown targets come from unknown pseudo ground truth
    (:class:`~cl_dense.det.open_world_roi_head.OpenWorldRoIHead`, ORE's auto-labelling) or, with
    the legacy :class:`~cl_dense.det.auto_label.UnknownAutoLabelSampler`, from the sampled
    negatives listed in ``SamplingResult.unknown_neg_inds``; they get no box regression unless
    ``regress_unknown``. The classifier's input features of the foreground
    RoIs (known and unknown targets), optionally through a linear projection, feed ORE's
    clustering: :class:`~cl_dense.memory.ClassPrototypes` (store + momentum prototypes, one slot
    per head class, plus one for the background with ``background_prototype``) and a clustering loss (default :class:`PrototypeClusteringLoss`, weight 0.1).
    The loss uses the prototypes as they are at this iteration; the features are pushed
    (detached, all-gathered) after it.

    Test: each detection carries ``energies`` = ``-T logsumexp(logits_known / T)`` of its RoI.
    With ``ebui=dict(mode='on', weibull_file=..., rule=None)`` detections the fit calls unknown
    (:meth:`WeibullEnergyModel.is_unknown`: by default one energy threshold; ``rule='density'``
    is ORE's density comparison; ``None`` keeps the fit's rule) are relabelled "unknown" (a
    missing file raises, never a silent skip; a file fitted with another T raises). Detections, scores and boxes are otherwise exactly the
    base head's.

    Args:
        num_known_classes: classes known so far (a prefix of the class list).
        clustering: ``dict(items_per_class, start_iter, update_mu_iter, momentum,
            background_prototype, loss)`` (see ``DEFAULT_CLUSTERING``; ``background_prototype``:
            keep a background prototype that foreground features are pushed away from, as ORE's
            code does), or ``None`` for no clustering.
        cluster_proj_dim: project the features to this size for clustering (``None``: the
            features themselves, as in ORE).
        energy_temperature: T, used for every energy this head computes (and stored in fits).
        ebui: ``dict(mode='off' | 'on', weibull_file=path, rule=None | 'threshold' | 'density')``.
        regress_unknown: regress unknown targets towards their (pseudo) ground truth (default:
            no box regression for the unknown class).
        *args, **kwargs: the base head's arguments.
    """

    def __init__(self, *args, num_known_classes: int, clustering: Optional[dict] = DEFAULT_CLUSTERING,
                 cluster_proj_dim: Optional[int] = None, energy_temperature: float = 1.5,
                 ebui: Optional[dict] = None, regress_unknown: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not self.with_cls:
            raise ValueError('an open-world bbox head needs its classifier (with_cls=True)')
        if not 1 <= num_known_classes < self.num_classes:
            raise ValueError(f'num_known_classes must lie in [1, num_classes - 1] = '
                             f'[1, {self.num_classes - 1}] (the last class is "unknown"), got '
                             f'{num_known_classes}')
        if not energy_temperature > 0:
            raise ValueError(f'energy_temperature must be > 0, got {energy_temperature!r}')
        self.num_known_classes = num_known_classes
        self.unknown_index = self.num_classes - 1
        self.energy_temperature = float(energy_temperature)
        self.regress_unknown = regress_unknown
        self.ebui = self._check_ebui({'mode': 'off', 'weibull_file': None, 'rule': None,
                                      **(ebui or {})})
        self._weibull: Optional[WeibullEnergyModel] = None
        self._cls_input: Optional[Tensor] = None
        self.with_clustering = clustering is not None
        if self.with_clustering:
            clustering = dict(DEFAULT_CLUSTERING, **clustering)
            feat_dim = self.fc_cls.in_features
            self.cluster_proj = (nn.Linear(feat_dim, cluster_proj_dim) if cluster_proj_dim
                                 else nn.Identity())
            unknown_keys = set(clustering) - set(DEFAULT_CLUSTERING)
            if unknown_keys:
                raise ValueError(f'unknown clustering settings {sorted(unknown_keys)}; known: '
                                 f'{sorted(DEFAULT_CLUSTERING)}')
            self.background_prototype = bool(clustering['background_prototype'])
            self.prototypes = ClassPrototypes(
                self.num_classes + int(self.background_prototype), cluster_proj_dim or feat_dim,
                clustering['items_per_class'],
                clustering['start_iter'], clustering['update_mu_iter'], clustering['momentum'])
            self.cluster_loss = MODELS.build(clustering['loss'])

    @staticmethod
    def _check_ebui(ebui: dict) -> dict:
        if ebui['mode'] not in EBUI_MODES:
            raise ValueError(f'ebui.mode must be one of {EBUI_MODES}, got {ebui["mode"]!r}')
        if ebui['rule'] is not None and ebui['rule'] not in RULES:
            raise ValueError(f'ebui.rule must be None (the fit\'s rule) or one of {RULES}, got '
                             f'{ebui["rule"]!r}')
        if ebui['mode'] == 'on' and not ebui['weibull_file']:
            raise ValueError('ebui.mode is "on" but no ebui.weibull_file is given: fit one with '
                             'tools/analysis_tools/fit_ore_weibull.py or set ebui.mode=off')
        return ebui

    def not_introduced_mask(self, device: torch.device) -> Tensor:
        """[num_classes + 1] bool: logits of classes of later tasks."""
        index = torch.arange(self.num_classes + 1, device=device)
        return (index >= self.num_known_classes) & (index < self.unknown_index)

    def forward(self, x: Tensor) -> tuple:
        """The base head's ``(cls_score [R, num_classes + 1], bbox_pred)`` with the logits of
        classes not yet introduced set to -inf. The classifier's input [R, F] is kept for the
        clustering loss (taken by a pre-hook on ``fc_cls`` that lives only during this call)."""
        kept = []
        handle = self.fc_cls.register_forward_pre_hook(lambda module, inputs: kept.append(inputs[0]))
        try:
            cls_score, bbox_pred = super().forward(x)
        finally:
            handle.remove()
        self._cls_input = kept[0]
        cls_score = cls_score.masked_fill(self.not_introduced_mask(cls_score.device), float('-inf'))
        return cls_score, bbox_pred

    def get_targets(self, sampling_results: list, rcnn_train_cfg: ConfigDict,
                    concat: bool = True) -> tuple:
        """The base head's targets; negatives listed in ``unknown_neg_inds`` (the legacy
        sampler) become "unknown" (label weight 1). Unknown targets (from those or from unknown
        pseudo ground truth) get no box regression unless ``regress_unknown``."""
        labels, label_weights, bbox_targets, bbox_weights = super().get_targets(
            sampling_results, rcnn_train_cfg, concat=False)
        for image_labels, image_bbox_weights, result in zip(labels, bbox_weights, sampling_results):
            picks = getattr(result, 'unknown_neg_inds', None)
            if picks is not None and picks.numel():
                image_labels[result.pos_inds.numel() + picks] = self.unknown_index
            if not self.regress_unknown:
                image_bbox_weights[image_labels == self.unknown_index] = 0.0
        if concat:
            return tuple(torch.cat(t, 0) for t in (labels, label_weights, bbox_targets, bbox_weights))
        return labels, label_weights, bbox_targets, bbox_weights

    def loss_and_target(self, cls_score: Tensor, bbox_pred: Tensor, rois: Tensor,
                        sampling_results: list, rcnn_train_cfg: ConfigDict, concat: bool = True,
                        reduction_override: Optional[str] = None) -> dict:
        """The base head's losses plus the clustering loss (and its diagnostics)."""
        out = super().loss_and_target(cls_score, bbox_pred, rois, sampling_results,
                                      rcnn_train_cfg, concat, reduction_override)
        labels = out['bbox_targets'][0]
        if not concat:
            labels = torch.cat(labels, 0)
        features, self._cls_input = self._cls_input, None
        out['loss_bbox']['unknown_targets'] = (labels == self.unknown_index).sum().float()
        if self.with_clustering:
            out['loss_bbox'].update(self.clustering_loss(features, labels))
        return out

    def clustering_loss(self, features: Tensor, labels: Tensor) -> dict:
        """Clustering loss of the foreground RoIs and the store update.

        With ``background_prototype`` (ORE's code) background RoIs are stored too (slot
        ``num_classes``), so a background prototype exists and every foreground RoI is pushed a
        margin away from it like from any other class's prototype; background RoIs themselves are
        not in the loss.

        Args:
            features: [R, F] the classifier's input features of the sampled RoIs.
            labels: [R] their targets (background = ``num_classes``).
        """
        stored = labels <= self.num_classes if self.background_prototype else labels < self.num_classes
        embeddings, stored_labels = self.cluster_proj(features[stored]), labels[stored]
        foreground = stored_labels < self.num_classes
        active = self.prototypes.step()
        valid = self.prototypes.valid if active else torch.zeros_like(self.prototypes.valid)
        losses = self.cluster_loss(embeddings[foreground], stored_labels[foreground],
                                   self.prototypes.prototypes, valid)
        self.prototypes.push(embeddings, stored_labels)
        losses['cluster_prototypes'] = valid.sum().float()
        return losses

    def weibull_model(self) -> WeibullEnergyModel:
        """The Weibull fit of ``ebui.weibull_file``, read once (checked against T), deciding with
        ``ebui.rule`` when set (else with the rule stored in the fit)."""
        if self._weibull is None:
            model = WeibullEnergyModel.load(self.ebui['weibull_file'], self.energy_temperature)
            rule = self.ebui.get('rule')
            self._weibull = model.with_rule(rule) if rule else model
        return self._weibull

    def known_energies(self, cls_score: Tensor) -> Tensor:
        """[R] energies of the logits [R, num_classes + 1] of the classes known so far."""
        return energy_score(cls_score[:, :self.num_known_classes], self.energy_temperature)

    def _predict_by_feat_single(self, roi: Tensor, cls_score: Tensor, bbox_pred: Tensor,
                                img_meta: dict, rescale: bool = False,
                                rcnn_test_cfg: Optional[ConfigDict] = None) -> InstanceData:
        """The base head's detections of one image plus ``energies``; with EBUI on, labels of
        detections whose energy looks unknown become ``unknown_index``."""
        if rcnn_test_cfg is None or roi.shape[0] == 0:
            results = super()._predict_by_feat_single(roi, cls_score, bbox_pred, img_meta,
                                                      rescale, rcnn_test_cfg)
            if rcnn_test_cfg is not None:
                results.energies = roi.new_zeros(0)
            return results
        raw = super()._predict_by_feat_single(roi, cls_score, bbox_pred, img_meta, rescale, None)
        dets, labels, keep = multiclass_nms(
            raw.bboxes, raw.scores, rcnn_test_cfg.score_thr, rcnn_test_cfg.nms,
            rcnn_test_cfg.max_per_img, return_inds=True, box_dim=4)
        energies = self.known_energies(cls_score)[keep // self.num_classes]
        if self.ebui['mode'] == 'on' and energies.numel():
            labels = torch.where(self.weibull_model().is_unknown(energies),
                                 torch.full_like(labels, self.unknown_index), labels)
        results = InstanceData()
        results.bboxes = dets[:, :-1]
        results.scores = dets[:, -1]
        results.labels = labels
        results.energies = energies
        return results


@MODELS.register_module()
class OpenWorldShared2FCBBoxHead(OpenWorldHeadMixin, Shared2FCBBoxHead):
    """ORE's open-world head on mmdet's :class:`Shared2FCBBoxHead` (Faster R-CNN R50-FPN).

    See :class:`OpenWorldHeadMixin` for the open-world arguments, e.g.::

        bbox_head=dict(type='OpenWorldShared2FCBBoxHead', num_classes=81, num_known_classes=20,
                       clustering=dict(items_per_class=20, start_iter=1000, update_mu_iter=3000))
    """


@MODELS.register_module()
class OpenWorldBBoxHead(OpenWorldHeadMixin, BBoxHead):
    """ORE's open-world head on mmdet's plain :class:`BBoxHead` (the R50-C4 head: ``res5`` shared
    head + average pooling). See :class:`OpenWorldHeadMixin`."""

