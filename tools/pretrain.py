"""Pretrain a backbone on a folder of unlabelled images in one command; the run ends by writing
``WORK_DIR/backbone.pth`` (``BackboneExportHook``), ready for
``init_cfg=dict(type='Pretrained', checkpoint='WORK_DIR/backbone.pth')`` in mmseg/mmdet.

    python tools/pretrain.py METHOD --data DIR [--iters N] [--work-dir W] [--cfg-options k=v ...]

METHOD is one of :data:`METHODS` (its CPU-sized config: narrow ResNetV1c-18 for the image-level
methods, DeepLabV3 R-18-D8 for GLCNet, narrow UNet for PCRL) or a pretraining config path. Every
image under DIR (recursive; jpg/png/tif/bmp, grey and 16-bit included) is used, labels never.
``--iters`` re-lengths the schedule (cosine spans it, one checkpoint at the end);
``--cfg-options`` come last and win (e.g. ``train_dataloader.batch_size=8``).
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cl_dense  # noqa: E402,F401  (safe checkpoint loading)
from cl_dense.engine.launch import add_common_args  # noqa: E402

CONFIGS = ROOT / 'configs'
# method -> (CPU pretraining config, a fine-tuning config that loads its backbone.pth)
_DEEPLAB_ISBI = 'detco/transfer/deeplabv3_r18-tiny-d8_detco-shared-pool_1xb4-200it_isbi-em-256x256.py'
METHODS: dict[str, tuple[str, str]] = {
    'detco': ('detco/detco_resnet18-narrow_1xb16-1000it_shared-pool.py', _DEEPLAB_ISBI),
    'mocov2': ('detco/mocov2_resnet18-narrow_1xb16-1000it_shared-pool.py', _DEEPLAB_ISBI),
    **{name: (f'selfsup_zoo/{name}_resnet18-narrow_1xb16-1000it_shared-pool.py', _DEEPLAB_ISBI)
       for name in ('simclr', 'byol', 'swav', 'nnclr', 'pcl')},
    'glcnet': ('glcnet/glcnet_deeplabv3_r18-tiny-d8_1xb8-300it_aerial-dubai.py', _DEEPLAB_ISBI),
    'pcrl': ('pcrl/pcrl_unet-s5-d16_1xb8-800it_isbi-em.py',
             'pcrl/fcn_unet-s5-d16_pcrl-isbi-em_1xb4-200it_isbi-em-256x256.py'),
}


def resolve_config(method: str) -> Path:
    """The config of ``method`` (a name of :data:`METHODS` or a config file path)."""
    if method in METHODS:
        return CONFIGS / METHODS[method][0]
    if osp.isfile(method):
        return Path(method)
    raise ValueError(f'unknown method {method!r}: give one of {", ".join(METHODS)} or a '
                     f'pretraining config file')


def check_folder(data: str) -> int:
    """The number of image files under ``data`` (recursive).

    Raises:
        FileNotFoundError: ``data`` is not an existing folder.
        ValueError: it holds no image file.
    """
    from cl_dense.selfsup.datasets import IMG_EXTENSIONS, scan_folder

    if not osp.isdir(data):
        raise FileNotFoundError(f'--data {data!r} is not an existing folder')
    images, others = scan_folder(data, IMG_EXTENSIONS)
    if not images:
        raise ValueError(f'--data {data!r} holds no image files ({", ".join(IMG_EXTENSIONS)}, '
                         f'searched recursively; {others} other files)')
    return len(images)


def folder_overrides(cfg, data: str) -> dict:
    """Point the config's ``UnlabelledImageFolder`` at every image under ``data``."""
    dataset = cfg.train_dataloader.dataset
    if dataset.get('type') != 'UnlabelledImageFolder':
        raise ValueError(f'the config trains on {dataset.get("type")!r}, not an '
                         'UnlabelledImageFolder: it cannot pretrain on a folder')
    return {'train_dataloader.dataset.data_root': osp.abspath(data),
            'train_dataloader.dataset.sub_dirs': ['']}


def with_export_hook(cfg) -> None:
    """Add ``BackboneExportHook`` to ``cfg.custom_hooks`` unless the config has one."""
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(hook.get('type') == 'BackboneExportHook' for hook in hooks):
        hooks.append(dict(type='BackboneExportHook'))
    cfg.custom_hooks = hooks


def build_config(args: argparse.Namespace):
    """The method's config with the folder, length, work dir and ``--cfg-options`` (last, they
    win) applied, then prepared as ``tools/train.py`` does (plugins imported, launcher set)."""
    from cl_dense.engine.launch import load_config, prepare_config
    from cl_dense.selfsup.schedule import schedule_overrides

    config = resolve_config(args.method)
    check_folder(args.data)
    base = load_config(str(config))
    options = folder_overrides(base, args.data)
    if args.iters is not None:
        options.update(schedule_overrides(base, args.iters)[0])
    options.update(args.cfg_options or {})
    work_dir = args.work_dir or osp.join(
        'work_dirs', f'pretrain_{config.stem}_{Path(osp.abspath(args.data)).name}')
    cfg = prepare_config(argparse.Namespace(config=str(config), cfg_options=options,
                                            launcher=args.launcher, work_dir=work_dir))
    with_export_hook(cfg)
    return cfg


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('method', help=f'one of {", ".join(METHODS)}, or a pretraining config')
    parser.add_argument('--data', required=True, help='folder of unlabelled images (recursive)')
    parser.add_argument('--iters', type=int, help='training iterations (default: the config\'s)')
    add_common_args(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> Path:
    """Pretrain; returns the written ``backbone.pth``."""
    from cl_dense.engine.launch import build_runner

    args = parse_args(argv)
    try:
        cfg = build_config(args)
    except (FileNotFoundError, ValueError) as err:
        sys.exit(f'error: {err}')
    build_runner(cfg).train()
    backbone = Path(cfg.work_dir) / 'backbone.pth'
    transfer = METHODS.get(args.method, (None, _DEEPLAB_ISBI))[1]
    print(f'backbone: {backbone}\nfine-tune, e.g.: python tools/train.py configs/{transfer} '
          f'--cfg-options model.backbone.init_cfg.checkpoint={backbone}')
    return backbone


if __name__ == '__main__':
    main()
