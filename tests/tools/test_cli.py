"""tools/train.py and tools/test.py: the mmseg/mmdet flags, and clear errors for bad configs."""
import subprocess
import sys

import pytest

from ..conftest import PROJECT_ROOT
from ..tool_loading import load_tool

TINY = PROJECT_ROOT / 'tests/fixtures/configs/tiny_fcn_synthetic-shapes-32x32.py'


def _load_tool(name: str):
    return load_tool(f'{name}.py')


def _data_options(data_root) -> list[str]:
    return [f'{loader}.dataset.data_root={data_root}' for loader in
            ('train_dataloader', 'val_dataloader', 'test_dataloader')]


def _run(args, cwd):
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def test_train_then_test_with_cfg_options_work_dir_amp_out_and_show_dir(tmp_path):
    work = tmp_path / 'work'
    train = _run([PROJECT_ROOT / 'tools/train.py', TINY, '--work-dir', work, '--amp', '--cfg-options',
                  'train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=1',
                  'model.decode_head.channels=12', *_data_options(tmp_path / 'data')], cwd=tmp_path)
    assert train.returncode == 0, train.stderr[-3000:]
    assert sorted(p.name for p in work.glob('iter_*.pth')) == ['iter_1.pth', 'iter_2.pth']
    dumped = (work / TINY.name).read_text()
    assert 'max_iters=2' in dumped and 'channels=12' in dumped
    assert "type='CPUAmpOptimWrapper'" in dumped  # --amp on a machine without CUDA: bf16 autocast
    assert not (tmp_path / 'work_dirs').exists()

    out, show = tmp_path / 'preds', tmp_path / 'show'
    test = _run([PROJECT_ROOT / 'tools/test.py', TINY, work / 'iter_2.pth', '--work-dir', tmp_path / 'test_work',
                 '--out', out, '--show-dir', show, '--cfg-options', 'model.decode_head.channels=12',
                 *_data_options(tmp_path / 'data')], cwd=tmp_path)
    assert test.returncode == 0, test.stderr[-3000:]
    assert 'mIoU' in test.stdout + test.stderr
    assert len(list(out.glob('*.png'))) == 4  # one label map per test image
    assert len(list(show.rglob('*.png'))) == 4  # one painted prediction per test image


def test_work_dir_defaults_to_config_name(tmp_path, monkeypatch):
    from cl_dense.engine.launch import load_config, resolve_work_dir

    cfg = load_config(str(TINY))
    resolve_work_dir(cfg, str(TINY), None)
    assert cfg.work_dir == f'./work_dirs/{TINY.stem}'
    resolve_work_dir(cfg, str(TINY), '/somewhere')
    assert cfg.work_dir == '/somewhere'


@pytest.mark.parametrize('tool', ['train', 'test'])
def test_missing_config_is_a_clear_error(tool, tmp_path, capsys):
    args = [str(tmp_path / 'nope.py')] + (['ckpt.pth'] if tool == 'test' else [])
    with pytest.raises(SystemExit, match=r"error: config file .*nope\.py' does not exist"):
        _load_tool(tool).main(args)


def test_malformed_config_is_a_clear_error(tmp_path):
    bad = tmp_path / 'bad.py'
    bad.write_text('model = dict(type=\n')
    with pytest.raises(SystemExit, match=r"error: could not load config .*bad\.py.*SyntaxError"):
        _load_tool('train').main([str(bad)])


def test_config_with_unknown_extension_is_a_clear_error(tmp_path):
    txt = tmp_path / 'conf.txt'
    txt.write_text('x = 1\n')
    with pytest.raises(SystemExit, match=r"error: config file .*conf\.txt' must be a \.py"):
        _load_tool('train').main([str(txt)])


def test_unknown_scope_is_a_clear_error(tmp_path):
    cfg_file = tmp_path / 'other.py'
    cfg_file.write_text("default_scope = 'mmocr'\n")
    with pytest.raises(SystemExit, match="error: config default_scope must be one of .*'mmpretrain'.*"
                                         "got 'mmocr'"):
        _load_tool('train').main([str(cfg_file)])


def test_mmpretrain_scope_imports_the_pretraining_plugins_and_finds_our_dataset():
    """default_scope 'mmpretrain' (configs/selfsup_zoo) imports mmpretrain and cl_dense.selfsup
    (through cl_dense.selfsup.mmpretrain_compat, which makes mmcv.adjust_hue numpy-2-safe); in
    that scope mmpretrain's SimCLR and MultiView and (by the fallback to mmengine's root
    registries) our UnlabelledImageFolder and LoadImage are found. In a fresh process, so that
    nothing was imported before."""
    code = (
        'import sys\n'
        'from mmengine.config import Config\n'
        'from cl_dense.engine.launch import import_toolbox_plugins\n'
        'assert "cl_dense.selfsup" not in sys.modules and "mmpretrain" not in sys.modules\n'
        'print(import_toolbox_plugins(Config(dict(default_scope="mmpretrain"))))\n'
        'import mmcv\n'
        'print("adjust_hue", mmcv.adjust_hue.__module__)\n'
        'from mmengine.registry import DATASETS, MODELS, TRANSFORMS, init_default_scope\n'
        'init_default_scope("mmpretrain")\n'
        'for registry, name in ((DATASETS, "UnlabelledImageFolder"), (TRANSFORMS, "LoadImage"),\n'
        '                       (TRANSFORMS, "MultiView"), (MODELS, "SimCLR")):\n'
        '    with registry.switch_scope_and_registry(None) as scoped:  # as build_from_cfg does\n'
        '        cls = scoped.get(name)\n'
        '    print(name, cls.__module__)\n')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300,
                          cwd=PROJECT_ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.split('\n')
    assert lines[0] == 'mmpretrain' and lines[1] == 'adjust_hue cl_dense.selfsup.mmpretrain_compat'
    assert 'UnlabelledImageFolder cl_dense.selfsup.datasets' in lines
    assert 'LoadImage cl_dense.selfsup.transforms' in lines
    assert 'MultiView mmpretrain.datasets.transforms.wrappers' in lines  # not ours: the scope's own
    assert 'SimCLR mmpretrain.models.selfsup.simclr' in lines


def test_cfg_options_parse_like_mmengine():
    args = _load_tool('train').parse_args(['c.py', '--cfg-options', 'a.b=1', 'c=[1,2]', 'd=x', '--resume'])
    assert args.cfg_options == {'a.b': 1, 'c': [1, 2], 'd': 'x'} and args.resume == 'auto'
    args = _load_tool('train').parse_args(['c.py', '--resume', 'w/iter_4.pth', '--launcher', 'pytorch'])
    assert args.resume == 'w/iter_4.pth' and args.launcher == 'pytorch'


@pytest.mark.realdata
def test_detection_config_trains_and_tests_through_the_same_tools(tmp_path, shared_data):
    """default_scope = mmdet: train.py trains, test.py evaluates (COCO bbox) and dumps a .pkl."""
    import pickle

    config = PROJECT_ROOT / 'tests/fixtures/configs/tiny_faster-rcnn_r18_fpn_bccd.py'
    root = f'{shared_data / "bccd"}/'
    options = [f'{loader}.dataset.data_root={root}' for loader in
               ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    options += [f'val_evaluator.ann_file={root}coco_derived/bccd_val.json',
                f'test_evaluator.ann_file={root}coco_derived/bccd_val.json']
    work = tmp_path / 'work'
    train = _run([PROJECT_ROOT / 'tools/train.py', config, '--work-dir', work, '--cfg-options', *options],
                 cwd=tmp_path)
    assert train.returncode == 0, train.stderr[-3000:]
    assert (work / 'iter_2.pth').is_file() and 'coco/bbox_mAP' in train.stdout + train.stderr
    out = tmp_path / 'dets.pkl'
    test = _run([PROJECT_ROOT / 'tools/test.py', config, work / 'iter_2.pth', '--work-dir', tmp_path / 'tw',
                 '--out', out, '--cfg-options', *options], cwd=tmp_path)
    assert test.returncode == 0, test.stderr[-3000:]
    with open(out, 'rb') as f:
        results = pickle.load(f)
    assert len(results) == 4 and {'img_id', 'pred_instances'} <= set(results[0])
