"""What tools/train.py and tools/test.py share: config loading, toolbox selection, work dirs."""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import os.path as osp

import torch
from mmengine.config import Config, DictAction

# default_scope -> the cl_dense sub-package that registers our modules for that toolbox;
# self-supervised pretraining registers in mmengine's root registries (scope 'mmengine'), which
# mmpretrain's registries fall back to: its models (SimCLR, SwAV, BYOL) then train on our
# UnlabelledImageFolder (configs/selfsup_zoo); mmpretrain_compat also fixes mmcv's adjust_hue
SCOPE_PLUGINS = {'mmseg': 'cl_dense.seg', 'mmdet': 'cl_dense.det', 'mmengine': 'cl_dense.selfsup',
                 'mmpretrain': 'cl_dense.selfsup.mmpretrain_compat'}


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Arguments both tools take, spelled as in mmseg/mmdet."""
    parser.add_argument('--work-dir', help='the directory to save logs and checkpoints')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value pairs; e.g. train_cfg.max_iters=100 '
        'model.decode_head.num_classes=5 "optim_wrapper.optimizer.lr=[0.1]"')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none',
                        help='job launcher (pytorch = torchrun)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0, help=argparse.SUPPRESS)


def load_config(path: str, cfg_options: dict | None = None) -> Config:
    """Load an MM-style config and apply ``--cfg-options``.

    Raises:
        FileNotFoundError: ``path`` is not a file.
        ValueError: the file is not a valid config (the message names the file and the cause).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path!r} does not exist')
    if osp.splitext(path)[1] not in ('.py', '.json', '.yaml', '.yml'):
        raise ValueError(f'config file {path!r} must be a .py, .json or .yaml file')
    try:
        cfg = Config.fromfile(path)
    except Exception as err:  # mmengine raises SyntaxError, KeyError, ImportError... for bad configs
        raise ValueError(f'could not load config {path!r}: {type(err).__name__}: {err}') from err
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def import_toolbox_plugins(cfg: Config) -> str:
    """Import the cl_dense sub-package for the config's ``default_scope`` (registers our modules).

    Returns:
        The scope name.
    """
    scope = cfg.get('default_scope')
    if scope not in SCOPE_PLUGINS:
        raise ValueError(f"config default_scope must be one of {sorted(SCOPE_PLUGINS)}, got {scope!r}; "
                         "inherit mmseg::_base_/default_runtime.py, mmdet::_base_/default_runtime.py, "
                         "mmpretrain::_base_/default_runtime.py or (pretraining) "
                         "configs/_base_/selfsup_runtime.py")
    importlib.import_module(scope)
    if importlib.util.find_spec(SCOPE_PLUGINS[scope]) is not None:
        importlib.import_module(SCOPE_PLUGINS[scope])
    return scope


def resolve_work_dir(cfg: Config, config_path: str, work_dir: str | None) -> None:
    """work_dir priority: command line > config > ``./work_dirs/<config name>``."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def enable_amp(cfg: Config) -> None:
    """Switch the optimizer wrapper to mixed precision: fp16 + loss scaling on CUDA, bf16 on CPU."""
    wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if wrapper in ('AmpOptimWrapper', 'CPUAmpOptimWrapper'):
        return
    if wrapper != 'OptimWrapper':
        raise ValueError(f'--amp needs optim_wrapper.type OptimWrapper, got {wrapper!r}')
    if torch.cuda.is_available():
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    else:
        cfg.optim_wrapper.type = 'CPUAmpOptimWrapper'
        cfg.optim_wrapper.dtype = 'bfloat16'


def build_runner(cfg: Config):
    """Build the Runner the config asks for (``runner_type``) or mmengine's default one."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def prepare_config(args: argparse.Namespace) -> Config:
    """The steps both tools take: load the config (with ``--cfg-options``), import the toolbox
    plugins, set the launcher (gloo on CPU-only machines) and the work dir.

    Raises:
        FileNotFoundError, ValueError: a missing or invalid config (see :func:`load_config`).
    """
    from .dist import setup_cpu_distributed

    cfg = load_config(args.config, args.cfg_options)
    import_toolbox_plugins(cfg)
    cfg.launcher = args.launcher
    setup_cpu_distributed(cfg, args.launcher)
    resolve_work_dir(cfg, args.config, args.work_dir)
    return cfg
