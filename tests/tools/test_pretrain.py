"""tools/pretrain.py: every method's config is pointed at the folder, re-lengthed and gets the
export hook; a 2-iteration run on a generated folder writes a backbone.pth that the method's
transfer config loads strictly; a missing or empty folder and an unknown method are clear errors."""
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope

from tests.conftest import PROJECT_ROOT
from tests.selfsup.folder import make_image_folder
from tests.tool_loading import load_tool

pretrain = load_tool('pretrain.py')


@pytest.fixture(scope='module')
def images(tmp_path_factory):
    return make_image_folder(tmp_path_factory.mktemp('images'), count=4)


@pytest.mark.parametrize('method', list(pretrain.METHODS))
def test_each_method_is_set_up_for_the_folder(method, images, tmp_path):
    args = pretrain.parse_args([method, '--data', str(images), '--iters', '7',
                                '--work-dir', str(tmp_path), '--cfg-options',
                                'train_dataloader.batch_size=3'])
    cfg = pretrain.build_config(args)
    dataset = cfg.train_dataloader.dataset
    assert dataset.type == 'UnlabelledImageFolder'
    assert dataset.data_root == str(images) and dataset.sub_dirs == ['']
    assert cfg.train_cfg.max_iters == 7 and cfg.param_scheduler[-1].end == 7
    assert cfg.default_hooks.checkpoint.interval == 7
    assert cfg.train_dataloader.batch_size == 3 and cfg.work_dir == str(tmp_path)
    assert [h.type for h in cfg.custom_hooks].count('BackboneExportHook') == 1
    assert (PROJECT_ROOT / 'configs' / pretrain.METHODS[method][1]).is_file()


def test_a_config_path_works_and_gets_the_hook(images, tmp_path):
    config = PROJECT_ROOT / 'tests/selfsup/configs/tiny_detco_folder-32.py'
    cfg = pretrain.build_config(pretrain.parse_args([str(config), '--data', str(images),
                                                     '--work-dir', str(tmp_path)]))
    assert cfg.train_dataloader.dataset.data_root == str(images)
    assert cfg.train_cfg.max_iters == Config.fromfile(str(config)).train_cfg.max_iters


def _run(*argv, cwd=PROJECT_ROOT):
    return subprocess.run([sys.executable, str(PROJECT_ROOT / 'tools/pretrain.py'), *argv],
                          cwd=cwd, capture_output=True, text=True, timeout=600)


def test_two_iterations_end_to_end_write_a_backbone_the_transfer_config_loads(images, tmp_path):
    work = tmp_path / 'work'
    out = _run('detco', '--data', str(images), '--iters', '2', '--work-dir', str(work),
               '--cfg-options', 'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
               'train_dataloader.persistent_workers=False', 'model.queue_size=8')
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    assert f'backbone: {work / "backbone.pth"}' in out.stdout
    assert (work / 'iter_2.pth').is_file()
    backbone = torch.load(work / 'backbone.pth', weights_only=True)['state_dict']
    transfer = Config.fromfile(str(PROJECT_ROOT / 'configs' / pretrain.METHODS['detco'][1]))
    with DefaultScope.overwrite_default_scope(transfer.default_scope):
        target = MODELS.build(dict(transfer.model.backbone, init_cfg=None))
    result = target.load_state_dict(backbone, strict=True)
    assert not result.missing_keys and not result.unexpected_keys


def test_missing_or_empty_folder_and_unknown_method_are_clear_errors(tmp_path):
    empty = tmp_path / 'empty'
    (empty / 'sub').mkdir(parents=True)
    (empty / 'sub' / 'notes.txt').write_text('no images here')
    cases = {('detco', '--data', str(tmp_path / 'nowhere')): 'is not an existing folder',
             ('detco', '--data', str(empty)): 'holds no image files .*1 other files',
             ('moco', '--data', str(empty)): 'unknown method .*detco, mocov2'}
    for argv, message in cases.items():
        with pytest.raises(SystemExit, match=message):
            pretrain.main(list(argv))
    out = _run('detco', '--data', str(empty))
    assert out.returncode != 0 and 'error: --data' in out.stderr and 'Traceback' not in out.stderr
