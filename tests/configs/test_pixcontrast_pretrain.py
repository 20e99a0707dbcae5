"""The two-stage supervised pixel-contrast pretraining configs: stage 1 trains with the contrast
term alone (heads' cross-entropy weighted 0, no validation), stage 2 fine-tunes with
cross-entropy from stage 1's backbone (and only the backbone). Run on tiny synthetic shapes."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from tests.conftest import PROJECT_ROOT

from ..engine.runner_utils import tiny_seg_config

STAGES = PROJECT_ROOT / 'configs' / 'pixel_contrast_pretrain'


def shrink(cfg: Config, tmp_path: Path, work: str) -> Config:
    """``cfg`` on 32 px synthetic shapes (5 classes) for 2 iterations, writing to tmp_path."""
    tiny = tiny_seg_config(tmp_path / work, tmp_path / 'data', max_iters=2, ckpt_interval=2)
    cfg.work_dir = tiny.work_dir
    cfg.experiment_name = tiny.experiment_name
    cfg.train_dataloader = tiny.train_dataloader
    if cfg.get('val_dataloader') is not None:
        cfg.val_dataloader, cfg.val_evaluator = tiny.val_dataloader, tiny.val_evaluator
        cfg.test_dataloader, cfg.test_evaluator = tiny.test_dataloader, tiny.test_evaluator
    cfg.train_cfg.max_iters = cfg.train_cfg.val_interval = 2
    cfg.param_scheduler[0].end = 2
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.logger.interval = 1
    cfg.model.data_preprocessor.size = (32, 32)
    cfg.model.decode_head.num_classes = cfg.model.auxiliary_head.num_classes = 5
    if 'contrast_loss' in cfg.model:
        cfg.model.contrast_loss.memory_size = 20
    return cfg


@pytest.mark.parametrize('dataset', ['isbi-em', 'aerial-dubai'])
def test_contrast_only_stage_then_cross_entropy_from_its_backbone(dataset, tmp_path):
    stage1 = Config.fromfile(str(
        STAGES / f'pixcontrast-pretrain_deeplabv3_r18-tiny-d8_1xb4-200it_{dataset}-256x256.py'))
    assert stage1.val_dataloader is None and stage1.model.contrast_warmup_iters == 0
    runner = Runner.from_cfg(shrink(stage1, tmp_path, 'stage1'))
    runner.train()
    logged = {k: v.data[0] for k, v in runner.message_hub.log_scalars.items()}
    # step 1 meets empty banks (zero loss); from step 2 on the contrast term trains
    assert logged['train/loss_contrast'][-1] > 0
    assert (logged['train/decode.loss_ce'] == 0).all() and (logged['train/aux.loss_ce'] == 0).all()
    checkpoint = tmp_path / 'stage1' / 'iter_2.pth'
    pretrained = torch.load(checkpoint, weights_only=True)['state_dict']

    stage2 = Config.fromfile(str(
        STAGES / f'deeplabv3_r18-tiny-d8_1xb4-200it_{dataset}-256x256_from-pixcontrast-pretrain.py'))
    assert stage2.model.type == 'EncoderDecoder'
    stage2 = shrink(stage2, tmp_path, 'stage2')
    stage2.model.backbone.init_cfg.checkpoint = str(checkpoint)
    stage2.train_cfg.max_iters = 1  # a real step of stage 2 as well
    stage2.default_hooks.checkpoint.interval = stage2.param_scheduler[0].end = 1
    runner = Runner.from_cfg(stage2)
    runner.model.init_weights()
    backbone = runner.model.backbone.state_dict()
    assert backbone and all(torch.equal(value, pretrained[f'backbone.{key}'])
                            for key, value in backbone.items())
    head_weight = runner.model.decode_head.conv_seg.weight
    assert not torch.equal(head_weight, pretrained['decode_head.conv_seg.weight'])
    runner.train()
    assert runner.message_hub.get_scalar('train/decode.loss_ce').current() > 0
