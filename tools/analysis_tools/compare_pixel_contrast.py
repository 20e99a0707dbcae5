"""CE only vs CE + memory pixel contrast on aerial_dubai: same model, same schedule, several seeds.

    python tools/analysis_tools/compare_pixel_contrast.py [--seeds 0 1 2] [--work-dir DIR]
        [--data-root ../shared/data/aerial_dubai] [--iters N] [--nice 10]

Each run is ``tools/train.py CONFIG --work-dir DIR/<variant>/seed<S> --cfg-options
randomness.seed=S ...`` in a subprocess (one after the other, seeds outer, so that a change in the
machine's load hits both variants alike), with the code of the checkout this script is in
(``PYTHONPATH``); the config validates once at the end of training on the val split (tile 8).
The mIoU / mAcc / aAcc of that validation are read from the run's ``vis_data/scalars.json``.
Prints a table (per seed, mean ± sample std, wall time) and writes ``DIR/results.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / 'configs' / 'pixel_contrast'
VARIANTS = {
    'ce': CONFIG_DIR / 'deeplabv3_r18-tiny-d8_1xb4-200it_aerial-dubai-256x256.py',
    'ce+memory-contrast':
        CONFIG_DIR / 'pixcontrast-mem_deeplabv3_r18-tiny-d8_1xb4-200it_aerial-dubai-256x256.py',
}
METRICS = ('mIoU', 'mAcc', 'aAcc')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--variants', nargs='+', choices=sorted(VARIANTS), default=list(VARIANTS))
    parser.add_argument('--work-dir', default=str(ROOT / 'work_dirs' / 'compare_pixel_contrast'))
    parser.add_argument('--data-root',
                        help='aerial_dubai folder (default: the configs\' data_root)')
    parser.add_argument('--iters', type=int, help='override the configs\' number of iterations')
    parser.add_argument('--nice', type=int, default=10, help='niceness of the training processes')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='extra key=value overrides passed to every run')
    return parser.parse_args(argv)


def run_options(seed: int, data_root: str | None, iters: int | None) -> list[str]:
    """``--cfg-options`` items of one run: seed, data root and schedule length overrides."""
    options = [f'randomness.seed={seed}']
    if data_root is not None:
        options += [f'train_dataloader.dataset.data_root={data_root}',
                    f'val_dataloader.dataset.data_root={data_root}',
                    f'test_dataloader.dataset.data_root={data_root}']
    if iters is not None:
        options += [f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
                    f'param_scheduler.0.end={iters}', f'default_hooks.checkpoint.interval={iters}']
    return options


def final_metrics(work_dir: Path, metrics: tuple[str, ...] = METRICS) -> dict[str, float]:
    """The last validation ``metrics`` (the first one marks a validation record) logged under
    ``work_dir/<timestamp>/vis_data/scalars.json``.

    Raises:
        FileNotFoundError: the run logged no validation metrics.
    """
    logs = sorted(work_dir.glob('*/vis_data/scalars.json'))
    found: dict[str, float] = {}
    if logs:
        for line in logs[-1].read_text().splitlines():
            record = json.loads(line)
            if metrics[0] in record:
                found = {key: float(record[key]) for key in metrics if key in record}
    if not found:
        raise FileNotFoundError(
            f'no validation metrics ({metrics[0]}) in {work_dir}/*/vis_data/scalars.json')
    return found


def train_one(config: Path, work_dir: Path, options: list[str], niceness: int) -> float:
    """Run tools/train.py once; returns its wall time in seconds."""
    command = [sys.executable, str(ROOT / 'tools' / 'train.py'), str(config),
               '--work-dir', str(work_dir), '--cfg-options', *options]
    work_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]))
    with open(work_dir / 'train_stdout.log', 'w') as log:
        process = subprocess.run(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                 preexec_fn=(lambda: os.nice(niceness)) if niceness else None)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise RuntimeError(f'training failed (exit {process.returncode}): {" ".join(command)}; '
                           f'see {work_dir / "train_stdout.log"}')
    return seconds


def summarise(runs: list[dict]) -> dict[str, dict]:
    """Per variant: mean and sample standard deviation of each metric, and total wall time."""
    summary = {}
    for variant in dict.fromkeys(run['variant'] for run in runs):
        mine = [run for run in runs if run['variant'] == variant]
        entry = {'num_runs': len(mine), 'wall_time_s': sum(run['wall_time_s'] for run in mine)}
        for key in METRICS:
            values = [run['metrics'][key] for run in mine if key in run['metrics']]
            if values:
                entry[key] = {'mean': statistics.fmean(values),
                              'std': statistics.stdev(values) if len(values) > 1 else 0.0}
        summary[variant] = entry
    return summary


def format_table(runs: list[dict], summary: dict[str, dict]) -> str:
    """Markdown table: one row per variant with per-seed mIoU, mean ± std and wall time."""
    lines = ['| variant | mIoU per seed | mIoU mean ± std | mAcc mean | aAcc mean | wall time |',
             '|---|---|---|---|---|---|']
    for variant, entry in summary.items():
        per_seed = ', '.join(f'{run["seed"]}: {run["metrics"]["mIoU"]:.2f}'
                             for run in runs if run['variant'] == variant)
        miou = entry['mIoU']
        lines.append(f'| {variant} | {per_seed} | {miou["mean"]:.2f} ± {miou["std"]:.2f} | '
                     f'{entry["mAcc"]["mean"]:.2f} | {entry["aAcc"]["mean"]:.2f} | '
                     f'{entry["wall_time_s"] / 60:.1f} min |')
    return '\n'.join(lines)


def machine() -> dict[str, object]:
    """What the numbers were measured on: platform, CPUs, torch, load and code version."""
    import torch
    commit = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=ROOT, capture_output=True, text=True)
    return {'platform': platform.platform(),
            'processor': platform.processor() or platform.machine(),
            'cpu_count': os.cpu_count(), 'load_average_1_5_15': os.getloadavg(),
            'torch': torch.__version__, 'torch_threads': torch.get_num_threads(),
            'cuda': torch.cuda.is_available(), 'git_commit': commit.stdout.strip() or None}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    out_dir = Path(args.work_dir).resolve()
    runs = []
    start = time.perf_counter()
    for seed in args.seeds:
        for variant in args.variants:
            work_dir = out_dir / variant / f'seed{seed}'
            options = run_options(seed, args.data_root, args.iters) + list(args.cfg_options)
            print(f'[compare] {variant} seed {seed} -> {work_dir}', flush=True)
            seconds = train_one(VARIANTS[variant], work_dir, options, args.nice)
            runs.append({'variant': variant, 'seed': seed,
                         'config': str(VARIANTS[variant].relative_to(ROOT)),
                         'wall_time_s': seconds, 'metrics': final_metrics(work_dir)})
            print(f'[compare]   mIoU {runs[-1]["metrics"]["mIoU"]:.2f} in {seconds / 60:.1f} min',
                  flush=True)
    summary = summarise(runs)
    result = {'runs': runs, 'summary': summary, 'total_wall_time_s': time.perf_counter() - start,
              'machine': machine(), 'data_root': args.data_root, 'iters': args.iters,
              'cfg_options': args.cfg_options}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / 'results.json').write_text(json.dumps(result, indent=2))
    print(format_table(runs, summary))
    print(f'total wall time {result["total_wall_time_s"] / 60:.1f} min; '
          f'results in {out_dir / "results.json"}')


if __name__ == '__main__':
    main()
