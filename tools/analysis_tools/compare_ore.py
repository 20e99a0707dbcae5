"""ORE vs a plain Faster R-CNN on the real open-world splits (bccd, chess task 1), same schedule.

    python tools/analysis_tools/compare_ore.py [--datasets bccd chess] [--iters N]
        [--work-dir DIR] [--seed 0] [--nice 10] [--cfg-options k=v ...]

Per dataset: ``tools/train.py`` trains the plain config and the ORE config (subprocesses, the
checkout's code), each validating once at the end with ``OpenWorldMetric`` (U-Recall, WI, A-OSE,
known mAP, read from the run's ``vis_data/scalars.json``; this ORE row is "ORE - EBUI"). Then the
ORE checkpoint gets the two EBUI fits on the held-out test split (``fit_ore_weibull.py``:
leakage-free and the paper's protocol) and is evaluated with each (in-process ``Runner.test``).
Prints a markdown table with run times and writes ``DIR/results.json``.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / 'configs' / 'ore'
DATASETS = {
    'bccd': dict(
        plain=CONFIG_DIR / 'faster-rcnn_r18-fpn-narrow_1xb4-300it_bccd-t1-320x240.py',
        ore=CONFIG_DIR / 'ore_faster-rcnn_r18-fpn-narrow_1xb4-300it_bccd-t1-320x240.py',
        held_out=dict(ann_file='coco_derived/bccd_test.json', img='BCCD/JPEGImages/')),
    'chess': dict(
        plain=CONFIG_DIR / 'faster-rcnn_r18-fpn-narrow_1xb4-300it_chess-t1-512x343.py',
        ore=CONFIG_DIR / 'ore_faster-rcnn_r18-fpn-narrow_1xb4-300it_chess-t1-512x343.py',
        held_out=dict(ann_file='test/annotations.coco.json', img='test/')),
}
METRICS = ('known_mAP', 'U_Recall', 'WI', 'A_OSE', 'unknown_AP', 'unknown_gts')


def _sibling(name: str):
    """Import another script of this folder (the pixel-contrast comparison's run helpers)."""
    spec = importlib.util.spec_from_file_location(f'cl_dense_{name}', Path(__file__).with_name(f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--datasets', nargs='+', choices=sorted(DATASETS), default=list(DATASETS))
    parser.add_argument('--work-dir', default=str(ROOT / 'work_dirs' / 'compare_ore'))
    parser.add_argument('--iters', type=int, help="override the configs' number of iterations")
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--nice', type=int, default=10, help='niceness of the training processes')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='extra key=value overrides passed to every training')
    return parser.parse_args(argv)


def schedule_options(seed: int, iters: int | None) -> list[str]:
    """``--cfg-options`` of a training: the seed and, with ``iters``, a schedule of that length
    (warm-up kept, the lr step moved to 5/6 of it, one validation and checkpoint at the end)."""
    options = [f'randomness.seed={seed}']
    if iters is not None:
        options += [f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
                    f'param_scheduler.1.end={iters}',
                    f'param_scheduler.1.milestones=[{max(1, iters * 5 // 6)}]',
                    f'default_hooks.checkpoint.interval={iters}']
    return options


def final_ow_metrics(work_dir: Path) -> dict[str, float]:
    """The last ``ow/*`` validation metrics in ``work_dir/<timestamp>/vis_data/scalars.json``.

    Raises:
        FileNotFoundError: the run logged no open-world validation metrics.
    """
    found: dict[str, float] = {}
    for log in sorted(work_dir.glob('*/vis_data/scalars.json')):
        for line in log.read_text().splitlines():
            record = json.loads(line)
            if 'ow/U_Recall' in record:
                found = {key: float(record[f'ow/{key}']) for key in METRICS if f'ow/{key}' in record}
    if not found:
        raise FileNotFoundError(f'no open-world validation metrics (ow/U_Recall) in '
                                f'{work_dir}/*/vis_data/scalars.json')
    return found


def evaluate_with_ebui(config: Path, checkpoint: Path, fit: str, work_dir: Path,
                       cfg_options: list[str]) -> dict[str, float]:
    """Test ``checkpoint`` on the config's test split with EBUI switched on with ``fit``."""
    from mmengine.config import DictAction
    from mmengine.runner import Runner

    from cl_dense.engine.launch import import_toolbox_plugins, load_config

    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    items = cfg_options + ['model.roi_head.bbox_head.ebui.mode=on',
                           f'model.roi_head.bbox_head.ebui.weibull_file={fit}']
    cfg = load_config(str(config), parser.parse_args(['--cfg-options', *items]).cfg_options)
    import_toolbox_plugins(cfg)
    cfg.work_dir, cfg.load_from = str(work_dir), str(checkpoint)
    cfg.experiment_name = f'{work_dir.name}_{time.time_ns()}'
    metrics = Runner.from_cfg(cfg).test()
    return {key: float(metrics[f'ow/{key}']) for key in METRICS if f'ow/{key}' in metrics}


def format_table(rows: list[dict]) -> str:
    """Markdown table, one row per (dataset, variant)."""
    lines = ['| dataset | variant | known mAP | U-Recall | WI (R=0.8) | A-OSE | unknown AP | time |',
             '|---|---|---|---|---|---|---|---|']
    for row in rows:
        m = row['metrics']
        lines.append(f"| {row['dataset']} | {row['variant']} | {m['known_mAP']:.2f} | "
                     f"{m['U_Recall']:.2f} | {m['WI']:.4f} | {int(m['A_OSE'])} | "
                     f"{m['unknown_AP']:.2f} | {row['wall_time_s'] / 60:.1f} min |")
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    runs = _sibling('compare_pixel_contrast')
    fit_tool = _sibling('fit_ore_weibull')
    out_dir = Path(args.work_dir).resolve()
    rows, start = [], time.perf_counter()
    options = schedule_options(args.seed, args.iters) + list(args.cfg_options)
    for name in args.datasets:
        spec = DATASETS[name]
        for variant in ('plain', 'ore'):
            work_dir = out_dir / name / variant
            print(f'[compare_ore] {name} {variant} -> {work_dir}', flush=True)
            seconds = runs.train_one(spec[variant], work_dir, options, args.nice)
            label = 'Faster R-CNN' if variant == 'plain' else 'ORE - EBUI'
            rows.append(dict(dataset=name, variant=label, wall_time_s=seconds,
                             config=str(spec[variant].relative_to(ROOT)),
                             metrics=final_ow_metrics(work_dir)))
            print(format_table(rows[-1:]), flush=True)
        checkpoint = max((out_dir / name / 'ore').glob('iter_*.pth'),
                         key=lambda p: int(p.stem.split('_')[1]))
        held_out = spec['held_out']
        for protocol in ('leakage_free', 'paper'):
            begin = time.perf_counter()
            fit = fit_tool.main([str(spec['ore']), str(checkpoint), '--protocol', protocol,
                                 '--ann-file', held_out['ann_file'],
                                 '--out', str(out_dir / name / f'weibull_{protocol}.json'),
                                 '--cfg-options', *args.cfg_options,
                                 f"val_dataloader.dataset.data_prefix.img={held_out['img']}"])
            metrics = evaluate_with_ebui(spec['ore'], checkpoint, fit,
                                         out_dir / name / f'ebui_{protocol}', list(args.cfg_options))
            rows.append(dict(dataset=name, variant=f'ORE (EBUI fit: {protocol})',
                             wall_time_s=time.perf_counter() - begin, fit=fit, metrics=metrics))
            print(format_table(rows[-1:]), flush=True)
    result = dict(rows=rows, total_wall_time_s=time.perf_counter() - start, machine=runs.machine(),
                  iters=args.iters, seed=args.seed, cfg_options=args.cfg_options)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / 'results.json').write_text(json.dumps(result, indent=2))
    print(format_table(rows))
    print(f'total wall time {result["total_wall_time_s"] / 60:.1f} min; results in '
          f'{out_dir / "results.json"}')


if __name__ == '__main__':
    main()
