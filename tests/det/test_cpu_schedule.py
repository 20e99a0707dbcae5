"""The CPU configs' clustering schedule: the prototypes are not only taken once from a barely
trained network but keep following the features during the run (the config's own length and
the lengths compare_ore.py trains)."""
import pytest
import torch
from mmengine.config import Config

from cl_dense.memory import ClassPrototypes
from tests.conftest import PROJECT_ROOT
from tests.tool_loading import load_tool

CPU_CONFIGS = sorted(p.name for p in (PROJECT_ROOT / 'configs/ore').glob('ore*_r18-fpn-narrow_*.py'))


def _followed_fraction(clustering: dict, max_iters: int) -> float:
    """Run the prototype schedule for ``max_iters`` iterations on a 1-d feature that drifts
    (the feature of iteration i is i, one per iteration, a store of 1): how far the prototype
    moved from where it was first set towards the last stored feature (0: never updated, 1:
    caught up)."""
    protos = ClassPrototypes(1, 1, items_per_class=1, start_iter=clustering['start_iter'],
                             update_mu_iter=clustering['update_mu_iter'],
                             momentum=clustering['momentum'])
    first = None
    for i in range(max_iters):
        protos.step()
        if first is None and bool(protos.valid[0]):
            first = float(protos.prototypes[0, 0])
        protos.push(torch.tensor([[float(i)]]), torch.tensor([0]))
    assert first is not None, 'the prototypes were never set during the run'
    return (float(protos.prototypes[0, 0]) - first) / (max_iters - 1 - first)


@pytest.mark.parametrize('name', CPU_CONFIGS)
def test_prototypes_follow_the_features_during_the_configs_run(name):
    cfg = Config.fromfile(str(PROJECT_ROOT / 'configs/ore' / name))
    clustering = cfg.model.roi_head.bbox_head.clustering
    assert _followed_fraction(clustering, cfg.train_cfg.max_iters) > 0.5
