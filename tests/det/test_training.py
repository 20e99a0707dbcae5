"""Short CPU trainings of ORE on BCCD: U-Recall computed end to end, the auto-labeller and the
clustering active, resume restores store and prototypes bit for bit, two gloo ranks agree."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

import cl_dense.det  # noqa: F401  (registers the ORE modules)
from tests.conftest import PROJECT_ROOT
from tests.engine.runner_utils import dist_train_two_ranks
from tests.tool_loading import load_tool

pytestmark = pytest.mark.realdata
CONFIG = PROJECT_ROOT / 'tests/fixtures/configs/tiny_ore_faster-rcnn_r18_fpn_bccd.py'
STATE_KEYS = ('roi_head.bbox_head.prototypes.prototypes', 'roi_head.bbox_head.prototypes.valid',
              'roi_head.bbox_head.prototypes.iter', 'roi_head.bbox_head.prototypes.store.feats',
              'roi_head.bbox_head.prototypes.store.ptr', 'roi_head.bbox_head.prototypes.store.count')


def _config(bccd: Path, work_dir: Path, name: str, **train_cfg) -> Config:
    cfg = Config.fromfile(str(CONFIG))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = f'{bccd}/'
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = name
    cfg.train_cfg.update(train_cfg)
    return cfg


def _ore_state(runner: Runner) -> dict:
    state = runner.model.state_dict()
    return {k: state[k].clone() for k in STATE_KEYS}


def _platelets_in_first_val_images(bccd: Path, count: int) -> int:
    coco = json.loads((bccd / 'coco_derived/bccd_val.json').read_text())
    platelets = next(c['id'] for c in coco['categories'] if c['name'] == 'Platelets')
    first = {img['id'] for img in coco['images'][:count]}
    return sum(1 for a in coco['annotations'] if a['image_id'] in first and a['category_id'] == platelets
               and not a.get('iscrowd', 0))


def test_short_training_computes_u_recall_end_to_end(shared_data, tmp_path):
    bccd = shared_data / 'bccd'
    runner = Runner.from_cfg(_config(bccd, tmp_path, 'ore_e2e'))
    runner.train()
    hub = runner.message_hub
    # one unknown pseudo ground truth per image (batch 2), every RoI on it unknown; clustering ran
    assert hub.get_scalar('train/unknown_pseudo_gts').current() == 2
    assert hub.get_scalar('train/unknown_targets').current() >= 2
    assert hub.get_scalar('train/cluster_prototypes').current() >= 1
    assert hub.get_scalar('train/loss_cluster').current() > 0
    metrics = runner.val_loop.run()
    # Platelets are not known in task 1: every Platelet of the 4 validation images is an unknown
    assert metrics['ow/unknown_gts'] == _platelets_in_first_val_images(bccd, 4) > 0
    assert 0.0 <= metrics['ow/U_Recall'] <= 100.0 and 0.0 <= metrics['ow/known_mAP'] <= 100.0
    assert metrics['ow/A_OSE'] >= 0 and metrics['ow/WI'] >= 0.0
    state = _ore_state(runner)
    assert int(state['roi_head.bbox_head.prototypes.iter']) == 4
    assert state['roi_head.bbox_head.prototypes.valid'][:2].all()  # RBC and WBC prototypes exist

    # EBUI: fit on the held-out test split without unknown labels, saved next to the checkpoint
    checkpoint = tmp_path / 'iter_4.pth'
    out = _fit_tool().main([str(CONFIG), str(checkpoint), '--protocol', 'leakage_free',
                            '--ann-file', 'coco_derived/bccd_test.json', '--max-batches', '2', '--cfg-options',
                            f'val_dataloader.dataset.data_root={bccd}/'])
    assert out == str(tmp_path / 'iter_4_weibull.json')
    fit = json.loads(Path(out).read_text())
    assert fit['temperature'] == 1.5 and fit['protocol'] == 'leakage_free'
    assert fit['num_unknown'] == 4 and fit['num_known'] > 0  # one auto-labelled RoI per image
    head = runner.model.roi_head.bbox_head
    head.ebui = dict(mode='on', weibull_file=out)
    with_ebui = runner.val_loop.run()
    assert with_ebui['ow/unknown_gts'] == metrics['ow/unknown_gts']
    assert head.weibull_model().temperature == 1.5


def _fit_tool():
    return load_tool('analysis_tools/fit_ore_weibull.py')


def test_paper_protocol_fit_uses_the_unknown_labels(shared_data, tmp_path):
    from mmengine.registry import MODELS

    from cl_dense.det.energy_fit import batch_roi_energies

    cfg = _config(shared_data / 'bccd', tmp_path, 'ore_paper_fit')
    tool = _fit_tool()
    assert tool.held_out_loader_cfg(cfg, 'paper', 'x.json').dataset.labels == 'open'
    assert tool.held_out_loader_cfg(cfg, 'leakage_free', None).dataset.labels == 'known'
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()  # untrained weights: energies are still defined
    batch = next(b for b in Runner.build_dataloader(cfg.val_dataloader)
                 if any((s.gt_instances.labels == 3).any() for s in b['data_samples']))
    known, unknown = batch_roi_energies(model, batch, 'paper')
    assert known.size > 0 and np.isfinite(known).all() and np.isfinite(unknown).all()
    # the leakage-free protocol refuses a batch that carries unknown labels (Platelets)
    with pytest.raises(ValueError, match='without unknown labels'):
        batch_roi_energies(model, batch, 'leakage_free')


class _RecordBeforeTrain(Hook):
    """Keeps the ORE buffers as they are right after the runner loaded / resumed."""

    def before_train(self, runner) -> None:
        self.state = _ore_state(runner)


def test_resume_restores_store_and_prototypes_bit_for_bit(shared_data, tmp_path):
    bccd = shared_data / 'bccd'
    first = Runner.from_cfg(_config(bccd, tmp_path, 'ore_resume_a', max_iters=2, val_interval=10))
    first.train()
    saved = _ore_state(first)
    assert int(saved['roi_head.bbox_head.prototypes.iter']) == 2
    assert saved['roi_head.bbox_head.prototypes.store.count'].sum() > 0
    cfg = _config(bccd, tmp_path, 'ore_resume_b', max_iters=3, val_interval=10)
    cfg.resume = True
    second = Runner.from_cfg(cfg)
    recorder = _RecordBeforeTrain()
    second.register_hook(recorder)
    second.train()
    for key in STATE_KEYS:
        assert torch.equal(recorder.state[key], saved[key]), key
    # and the schedule went on from there
    assert int(_ore_state(second)['roi_head.bbox_head.prototypes.iter']) == 3


@pytest.mark.dist
def test_two_gloo_ranks_keep_identical_stores_and_prototypes(shared_data, tmp_path):
    (tmp_path / 'data').symlink_to(shared_data / 'bccd', target_is_directory=True)
    config = PROJECT_ROOT / 'tests/fixtures/configs/tiny_ore_faster-rcnn_r18_fpn_bccd_dump-ranks.py'
    (rank0, rank1), log = dist_train_two_ranks(
        config, tmp_path, ['train_cfg.max_iters=3', 'train_cfg.val_interval=10'])
    assert 'Distributed training: True' in log
    for key in STATE_KEYS:
        assert torch.equal(rank0['state_dict'][key], rank1['state_dict'][key]), key
    # both ranks pushed: the store holds the features of 2 ranks x 3 iterations
    assert int(rank0['state_dict']['roi_head.bbox_head.prototypes.iter']) == 3
    assert rank0['state_dict']['roi_head.bbox_head.prototypes.valid'][:2].all()
    for name in rank0['parameters']:
        assert torch.equal(rank0['state_dict'][name], rank1['state_dict'][name]), name
