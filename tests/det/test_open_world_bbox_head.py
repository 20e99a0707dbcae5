"""OpenWorld bbox heads: logit masking, unknown targets, clustering loss and store, predictions
(identical to the base head with EBUI off), energies and the EBUI relabelling."""
import math

import pytest
import torch
from mmdet.models.roi_heads.bbox_heads import Shared2FCBBoxHead
from mmdet.models.task_modules.assigners import MaxIoUAssigner
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox2roi
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

from cl_dense.det import OpenWorldShared2FCBBoxHead, UnknownAutoLabelSampler, WeibullEnergyModel
from cl_dense.det.energy import WeibullParams
from cl_dense.losses import PrototypeClusteringLoss

# classes 0, 1 known; 2 introduced later; 3 unknown; 4 background
HEAD = dict(in_channels=4, roi_feat_size=2, fc_out_channels=8, num_classes=4)
TRAIN_CFG = ConfigDict(pos_weight=-1)
TEST_CFG = ConfigDict(score_thr=0.0, nms=dict(type='nms', iou_threshold=0.5), max_per_img=100)


def _head(**kwargs) -> OpenWorldShared2FCBBoxHead:
    torch.manual_seed(0)
    cfg = dict(type='OpenWorldShared2FCBBoxHead', num_known_classes=2, **HEAD)
    cfg.update(kwargs)
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def _sampling_results(seed: int):
    """Two images; image 0 has gts of classes 0 and 1, image 1 one gt of class 1."""
    gen = torch.Generator().manual_seed(seed)
    results = []
    for gt_boxes, gt_labels in (([[0, 0, 20, 20], [40, 40, 70, 60]], [0, 1]), ([[10, 10, 30, 40]], [1])):
        gt = InstanceData(bboxes=torch.tensor(gt_boxes, dtype=torch.float32),
                          labels=torch.tensor(gt_labels))
        xy = torch.rand(12, 2, generator=gen) * 60
        wh = torch.rand(12, 2, generator=gen) * 20 + 5
        props = InstanceData(priors=torch.cat([xy, xy + wh], 1), scores=torch.rand(12, generator=gen))
        assign = MaxIoUAssigner(pos_iou_thr=0.5, neg_iou_thr=0.5).assign(props, gt)
        sampler = UnknownAutoLabelSampler(num_unknown=1, num=32, pos_fraction=0.5)
        results.append(sampler.sample(assign, props, gt))
    return results


def _forward(head, results, seed):
    rois = bbox2roi([res.priors for res in results])
    feats = torch.randn(rois.shape[0], 4, 2, 2, generator=torch.Generator().manual_seed(seed))
    cls_score, bbox_pred = head(feats)
    return cls_score, bbox_pred, rois


def test_logits_of_classes_not_yet_introduced_are_masked():
    head = _head()
    cls_score, _ = head(torch.randn(5, 4, 2, 2))
    assert torch.isneginf(cls_score[:, 2]).all()
    assert torch.isfinite(cls_score[:, [0, 1, 3, 4]]).all()
    assert torch.softmax(cls_score, 1)[:, 2].eq(0).all()


def test_auto_labelled_negatives_become_unknown_without_regression():
    head = _head(clustering=None)
    results = _sampling_results(0)
    labels, label_weights, _, bbox_weights = head.get_targets(results, TRAIN_CFG, concat=False)
    for image_labels, weights, boxes_w, res in zip(labels, label_weights, bbox_weights, results):
        num_pos = res.pos_inds.numel()
        expected = torch.full((num_pos + res.neg_inds.numel(),), 4)
        expected[:num_pos] = res.pos_gt_labels
        expected[num_pos + res.unknown_neg_inds] = 3
        assert torch.equal(image_labels, expected)
        assert res.unknown_neg_inds.numel() == 1
        assert weights.eq(1).all() and boxes_w[num_pos:].eq(0).all()


def test_losses_are_finite_with_masked_logits_and_gradients_flow():
    head = _head(clustering=None)
    results = _sampling_results(1)
    cls_score, bbox_pred, rois = _forward(head, results, 1)
    out = head.loss_and_target(cls_score, bbox_pred, rois, results, TRAIN_CFG)
    losses = out['loss_bbox']
    assert losses['unknown_targets'].item() == 2  # one per image
    total = losses['loss_cls'] + losses['loss_bbox']
    assert torch.isfinite(total)
    total.backward()
    assert all(torch.isfinite(p.grad).all() for p in head.parameters() if p.grad is not None)


def test_clustering_loss_uses_store_means_at_start_iter_and_detached_store():
    head = _head(clustering=dict(items_per_class=64, start_iter=1, update_mu_iter=100,
                                 background_prototype=False,
                                 loss=dict(type='PrototypeClusteringLoss', margin=3.0,
                                           loss_weight=0.1)))
    kept = []
    head.fc_cls.register_forward_pre_hook(lambda module, inputs: kept.append(inputs[0]))
    results = _sampling_results(2)
    first = head.loss_and_target(*_forward(head, results, 2), results, TRAIN_CFG)
    labels0 = first['bbox_targets'][0]
    # call 0 < start_iter: zero loss, every prototype invalid, features stored detached
    assert first['loss_bbox']['loss_cluster'].item() == 0.0
    assert first['loss_bbox']['cluster_prototypes'].item() == 0
    stored, stored_labels = head.prototypes.store.keys()
    fg = labels0 < 4
    assert stored.grad_fn is None and not stored.requires_grad
    assert sorted(stored_labels.tolist()) == sorted(labels0[fg].tolist())
    means = {c: kept[0][fg][labels0[fg] == c].detach().mean(0) for c in labels0[fg].unique().tolist()}

    second = head.loss_and_target(*_forward(head, results, 3), results, TRAIN_CFG)
    labels1 = second['bbox_targets'][0]
    protos = torch.zeros(4, 8)
    valid = torch.zeros(4, dtype=torch.bool)
    for c, mean in means.items():
        protos[c], valid[c] = mean, True
    assert torch.allclose(head.prototypes.prototypes, protos)
    fg1 = labels1 < 4
    expected = PrototypeClusteringLoss(margin=3.0, loss_weight=0.1)(
        kept[1][fg1], labels1[fg1], protos, valid)['loss_cluster']
    assert second['loss_bbox']['loss_cluster'].item() == pytest.approx(expected.item(), rel=1e-5)
    assert second['loss_bbox']['loss_cluster'].item() > 0
    second['loss_bbox']['loss_cluster'].backward()
    assert head.shared_fcs[0].weight.grad.abs().sum() > 0


def _predict(head, seed=4):
    gen = torch.Generator().manual_seed(seed)
    xy = torch.rand(30, 2, generator=gen) * 50
    rois = torch.cat([torch.zeros(30, 1), xy, xy + 10 + torch.rand(30, 2, generator=gen) * 30], 1)
    cls_score, bbox_pred = head(torch.randn(30, 4, 2, 2, generator=gen))
    meta = dict(img_shape=(100, 100), scale_factor=(1.0, 1.0))
    return cls_score, head.predict_by_feat((rois,), (cls_score,), (bbox_pred,), [meta],
                                           rcnn_test_cfg=TEST_CFG)[0]


def test_predictions_equal_the_base_head_with_ebui_off():
    head = _head(num_known_classes=3)  # nothing masked: the same function as the base head
    base = Shared2FCBBoxHead(**HEAD)
    base.load_state_dict(head.state_dict(), strict=False)
    cls_score, ours = _predict(head)
    _, theirs = _predict(base)
    assert len(ours) > 0
    for key in ('bboxes', 'scores', 'labels'):
        assert torch.equal(ours.get(key), theirs.get(key)), key
    # each detection's energy is that of the RoI it came from: find the RoI by its score
    probs = torch.softmax(cls_score, 1)
    for score, label, energy in zip(ours.scores, ours.labels, ours.energies):
        roi = (probs[:, label] == score).nonzero()[0, 0]
        expected = -1.5 * math.log(sum(math.exp(v / 1.5) for v in cls_score[roi, :3].tolist()))
        assert energy.item() == pytest.approx(expected, rel=1e-5)


def _write_fit(path, unknown_everywhere: bool, temperature=1.5):
    """A fit whose threshold rule and density rule both say unknown (or known) everywhere."""
    wide, narrow = WeibullParams(1.0, -1e4, 1e3), WeibullParams(2.0, 1e4, 1.0)
    known, unknown = (narrow, wide) if unknown_everywhere else (wide, narrow)
    threshold = float('-inf') if unknown_everywhere else float('inf')
    WeibullEnergyModel(temperature, known, unknown, 'leakage_free', 10, 10,
                       threshold=threshold).save(str(path))


@pytest.mark.parametrize('rule', [None, 'threshold', 'density'])
@pytest.mark.parametrize('unknown_everywhere', [True, False])
def test_ebui_relabels_detections_whose_energy_looks_unknown(tmp_path, unknown_everywhere, rule):
    path = tmp_path / 'fit.json'
    _write_fit(path, unknown_everywhere)
    off = _predict(_head())[1]
    on = _predict(_head(ebui=dict(mode='on', weibull_file=str(path), rule=rule)))[1]
    assert torch.equal(on.bboxes, off.bboxes) and torch.equal(on.scores, off.scores)
    expected = torch.full_like(off.labels, 3) if unknown_everywhere else off.labels
    assert len(off) > 0 and torch.equal(on.labels, expected)


def test_ebui_switched_on_without_a_fit_raises(tmp_path):
    with pytest.raises(ValueError, match='weibull_file'):
        _head(ebui=dict(mode='on'))
    head = _head(ebui=dict(mode='on', weibull_file=str(tmp_path / 'absent.json')))
    with pytest.raises(FileNotFoundError, match='absent.json'):
        _predict(head)
    _write_fit(tmp_path / 'other_t.json', True, temperature=1.0)
    with pytest.raises(ValueError, match='temperature'):
        _predict(_head(ebui=dict(mode='on', weibull_file=str(tmp_path / 'other_t.json'))))


@pytest.mark.parametrize('kwargs, message', [
    (dict(num_known_classes=4), 'num_known_classes'), (dict(num_known_classes=0), 'num_known_classes'),
    (dict(energy_temperature=0.0), 'energy_temperature'), (dict(ebui=dict(mode='auto')), 'ebui.mode'),
    (dict(ebui=dict(rule='ratio')), 'ebui.rule'), (dict(clustering=dict(start=1)), 'clustering')])
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _head(**kwargs)


def test_a_deep_copy_still_trains_and_leaves_no_hook_behind():
    import copy
    head = copy.deepcopy(_head(clustering=dict(items_per_class=8, start_iter=0)))
    results = _sampling_results(5)
    out = head.loss_and_target(*_forward(head, results, 5), results, TRAIN_CFG)
    assert torch.isfinite(out['loss_bbox']['loss_cluster'])
    assert not head.fc_cls._forward_pre_hooks


@pytest.mark.parametrize('form', ['paper', 'public'])
def test_background_prototype_pushes_foreground_away_as_in_ores_code(form):
    head = _head(clustering=dict(items_per_class=256, start_iter=1, update_mu_iter=100,
                                 background_prototype=True,
                                 loss=dict(type='PrototypeClusteringLoss', margin=3.0, form=form,
                                           loss_weight=1.0)))
    kept = []
    head.fc_cls.register_forward_pre_hook(lambda module, inputs: kept.append(inputs[0]))
    results = _sampling_results(6)
    labels0 = head.loss_and_target(*_forward(head, results, 6), results, TRAIN_CFG)['bbox_targets'][0]
    # one slot per head class plus the background's (index num_classes = 4)
    assert head.prototypes.prototypes.shape[0] == 5
    second = head.loss_and_target(*_forward(head, results, 7), results, TRAIN_CFG)
    labels1 = second['bbox_targets'][0]
    assert head.prototypes.valid[4]
    background_mean = kept[0][labels0 == 4].detach().mean(0)
    assert torch.allclose(head.prototypes.prototypes[4], background_mean, atol=1e-6)
    # the loss: foreground RoIs only, each against every valid prototype, background included
    protos, valid = head.prototypes.prototypes, head.prototypes.valid
    fg = labels1 < 4
    feats, fg_labels = kept[1][fg], labels1[fg]
    columns = valid.nonzero().squeeze(1).tolist()
    assert 4 in columns
    terms = []
    for f, c in zip(feats, fg_labels.tolist()):
        for j in columns:
            if form == 'paper':
                d = torch.linalg.vector_norm(f - protos[j])
                terms.append(d if j == c else (3.0 - d).clamp(min=0))
            else:  # cdist with p = 10, HingeEmbeddingLoss(margin=2), mean over all pairs
                d = torch.linalg.vector_norm(f - protos[j], ord=10)
                terms.append(d if j == c else (2.0 - d).clamp(min=0))
    expected = (torch.stack(terms).sum() / fg.sum() if form == 'paper'
                else torch.stack(terms).mean())
    assert second['loss_bbox']['cluster_rois'].item() == fg.sum().item()
    assert second['loss_bbox']['loss_cluster'].item() == pytest.approx(expected.item(), rel=1e-5)
