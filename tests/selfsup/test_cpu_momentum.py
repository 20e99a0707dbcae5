"""The key encoders of the CPU-sized momentum configs move away from their random init within the
configured schedule (issue 16: at m = 0.999, 200 iterations left 82 % of the init in it)."""
import pytest
import torch
from mmengine.config import Config

from cl_dense.selfsup import momentum_encoder
from tests.conftest import PROJECT_ROOT

CPU_MOMENTUM_CONFIGS = [
    'configs/detco/detco_resnet18-narrow_1xb16-1000it_shared-pool.py',
    'configs/detco/mocov2_resnet18-narrow_1xb16-1000it_shared-pool.py',
    'configs/selfsup_zoo/pcl_resnet18-narrow_1xb16-1000it_shared-pool.py',
    'configs/pcrl/pcrl_unet-s5-d16_1xb8-800it_isbi-em.py',
    'configs/pcrl/pcrl_unet-s5-d16_1xb8-800it_aerial-dubai.py',
]


def init_weight_left(momentum: float, iters: int) -> float:
    """Weight of the key encoder's initial value after ``iters`` updates of mmengine's EMA (the
    first update copies the query encoder; MoCo's ``k <- m k + (1 - m) q`` from then on), run
    on a one-parameter module whose query value stays 1 while its key starts at 0."""
    query = torch.nn.Linear(1, 1, bias=False)
    key = momentum_encoder(query, momentum)
    with torch.no_grad():
        query.weight.fill_(0.0)
        key.update_parameters(query)  # mmengine's first update copies: key = 0, the "init"
        query.weight.fill_(1.0)
        for _ in range(iters - 1):
            key.update_parameters(query)
    return 1.0 - key.module.weight.item()


@pytest.mark.parametrize('config', CPU_MOMENTUM_CONFIGS)
def test_key_encoder_leaves_its_init_within_a_short_schedule(config):
    cfg = Config.fromfile(str(PROJECT_ROOT / config))
    momentum = cfg.model.momentum
    # the comparison's short runs (200 iterations) as well as the configs' own length
    for iters in (200, cfg.train_cfg.max_iters):
        assert init_weight_left(momentum, iters) < 0.2, (config, momentum, iters)
    assert init_weight_left(momentum, cfg.train_cfg.max_iters) < 0.01


def test_init_weight_left_is_the_ema_power():
    assert init_weight_left(0.999, 201) == pytest.approx(0.999 ** 200, rel=1e-4)
    assert init_weight_left(0.99, 11) == pytest.approx(0.99 ** 10, rel=1e-4)
