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


@pytest.mark.parametrize('iters', [150, 500, 1000])
@pytest.mark.parametrize('variant', ['ore', 'ore_objectness'])
def test_compare_ore_rescales_the_schedule_to_its_run_length(variant, iters):
    tool = load_tool('analysis_tools/compare_ore.py')
    cfg = tool.build_cfg(PROJECT_ROOT / 'configs/ore' / (
        f'{tool.TRAINED[variant][0]}_r18-fpn-narrow_1xb4-300it_chess-t1-512x343.py'),
        tool.variant_options(variant, 0, iters))
    assert cfg.train_cfg.max_iters == iters
    assert _followed_fraction(cfg.model.roi_head.bbox_head.clustering, iters) > 0.5
    # the plain baseline has no clustering to schedule
    assert not any('clustering' in o for o in tool.variant_options('plain', 0, iters))
