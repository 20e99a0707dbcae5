"""The TensorBoard switch of configs/_base_/tensorboard.py and its command-line form."""
from pathlib import Path

import pytest
from mmengine import Config
from mmengine.registry import VISBACKENDS, init_default_scope

from tests.conftest import PROJECT_ROOT

CONFIG = (PROJECT_ROOT / 'configs' / 'pixel_contrast' /
          'deeplabv3_r18-tiny-d8_1xb4-200it_isbi-em-256x256.py')


def _write_events(cfg: Config, save_dir: Path) -> list:
    """Build every configured backend, log one scalar; returns the TensorBoard event files."""
    pytest.importorskip('tensorboard')
    init_default_scope('mmseg')
    for backend in cfg.visualizer.vis_backends:
        vis = VISBACKENDS.build(dict(backend, save_dir=str(save_dir)))
        vis.add_scalar('loss', 1.0, step=0)
        vis.close()
    return list(save_dir.glob('**/events.out.tfevents.*'))


def test_tensorboard_base_adds_the_backend(tmp_path):
    leaf = tmp_path / 'with_tensorboard.py'
    leaf.write_text(f"_base_ = ['{CONFIG}', '{PROJECT_ROOT / 'configs/_base_/tensorboard.py'}']\n"
                    "visualizer = dict(vis_backends=_base_.tensorboard_vis_backends)\n")
    cfg = Config.fromfile(str(leaf))
    assert [b['type'] for b in cfg.visualizer.vis_backends] == ['LocalVisBackend',
                                                              'TensorboardVisBackend']
    assert _write_events(cfg, tmp_path / 'vis')


def test_command_line_switch(tmp_path):
    cfg = Config.fromfile(str(CONFIG))
    cfg.merge_from_dict({'visualizer.vis_backends.0.type': 'TensorboardVisBackend'})
    assert _write_events(cfg, tmp_path / 'vis')
