"""Test (evaluate) a trained mmseg or mmdet model.

    python tools/test.py CONFIG CHECKPOINT [--work-dir D] [--out DIR_OR_FILE] [--show-dir D]
                                           [--cfg-options k=v ...] [--launcher ...]

``--out``: mmseg writes the predicted label maps into the directory; mmdet dumps the results to a
``.pkl`` file. ``--show-dir``: saves drawn predictions (under the work dir's timestamp folder).
"""
from __future__ import annotations

import argparse
import sys

import cl_dense  # noqa: F401  (safe checkpoint loading)
from cl_dense.engine.launch import add_common_args, build_runner, prepare_config


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a segmentor or detector')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='mmseg: directory for predicted label maps; mmdet: .pkl file')
    parser.add_argument('--show-dir', help='directory where painted predictions are saved')
    add_common_args(parser)
    return parser.parse_args(argv)


def enable_visualization(cfg, show_dir: str) -> None:
    """Turn on the config's visualization hook for every image and point it at ``show_dir``."""
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        raise ValueError("--show-dir needs default_hooks.visualization in the config "
                         "(e.g. dict(type='SegVisualizationHook'))")
    hook['draw'] = True
    hook['interval'] = 1  # every test image, not every 50th
    if cfg.default_scope == 'mmdet':
        hook['test_out_dir'] = show_dir
    else:
        cfg.visualizer['save_dir'] = show_dir


def add_result_output(cfg, out: str) -> None:
    """Keep the raw predictions: label maps for mmseg, a pickle of results for mmdet."""
    if cfg.default_scope == 'mmdet':
        if not out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out for mmdet must be a .pkl file, got {out!r}')
        evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else [cfg.test_evaluator]
        cfg.test_evaluator = [*evaluators, dict(type='DumpDetResults', out_file_path=out)]
    else:
        cfg.test_evaluator['output_dir'] = out
        cfg.test_evaluator['keep_results'] = True


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        cfg = prepare_config(args)
    except (FileNotFoundError, ValueError) as err:
        sys.exit(f'error: {err}')
    cfg.load_from = args.checkpoint
    if args.show_dir:
        enable_visualization(cfg, args.show_dir)
    if args.out:
        add_result_output(cfg, args.out)
    runner = build_runner(cfg)
    runner.test()


if __name__ == '__main__':
    main()
