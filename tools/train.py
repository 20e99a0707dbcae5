"""Train an mmseg or mmdet model from a config, with cl_dense's modules registered.

    python tools/train.py CONFIG [--work-dir D] [--resume [CKPT]] [--amp] [--cfg-options k=v ...]
                                 [--launcher none|pytorch|slurm]

The toolbox is chosen by the config's ``default_scope``. On machines without CUDA ``--amp`` uses
bf16 autocast and the pytorch/slurm launchers use gloo (see cl_dense.engine.dist).
"""
from __future__ import annotations

import argparse
import sys

import cl_dense  # noqa: F401  (safe checkpoint loading)
from cl_dense.engine.launch import add_common_args, build_runner, enable_amp, prepare_config


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a segmentor or detector')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--resume', nargs='?', const='auto', default=None, metavar='CHECKPOINT',
                        help='resume from CHECKPOINT, or from the latest checkpoint in the work dir '
                        'when no path is given')
    parser.add_argument('--amp', action='store_true', help='mixed precision training')
    add_common_args(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        cfg = prepare_config(args)
    except (FileNotFoundError, ValueError) as err:
        sys.exit(f'error: {err}')
    if args.amp:
        enable_amp(cfg)
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    runner = build_runner(cfg)
    runner.train()


if __name__ == '__main__':
    main()
