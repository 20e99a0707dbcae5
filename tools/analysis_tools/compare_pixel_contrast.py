"""CE vs CE + in-batch vs CE + memory pixel contrast on aerial_dubai, from a pretrained backbone,
at two label budgets, with a settings sweep on a tuning tile and final numbers on a held-out tile.

    python tools/analysis_tools/compare_pixel_contrast.py [--stage all|pretrain|sweep|final|report]
        [--seeds 0 1 2] [--budgets 1.0 0.25] [--iters 300] [--work-dir DIR]
        [--data-root ../shared/data] [--nice 0]

Stages (``all`` runs them in order; every finished piece is reused, so an interrupted call resumes):

1. ``pretrain``: MoCo v2 (``configs/detco/mocov2_...shared-pool.py``, key momentum 0.99 for the
   short schedule) on the unlabelled pool of ``--data-root`` *without* aerial_dubai tiles 7 and 8,
   exported to ``DIR/pretrain/backbone.pth``.
2. ``sweep``: every setting of :data:`SWEEP` at full budget, seed 0, scored on tile 7 (val);
   the best setting per contrast variant is written to ``DIR/sweep.json``.
3. ``final``: CE and the two chosen contrast settings, every budget x seed, tested on tile 8
   (``tools/test.py``, never seen by the sweep); runs the sweep already made are reused.
4. ``report``: ``DIR/results.json`` and ``DIR/report.md`` (per-seed held-out mIoU, mean ± sample std,
   paired differences to CE, per-class IoU deltas, anchors / keys / hard-anchor share per
   iteration, wall times) and one curve PNG per budget (``DIR/curves_<budget>.png``).

Each run is ``tools/train.py`` in a subprocess, one after the other (never beside each other), and
leaves ``run.json`` in its work dir ``DIR/runs/b<budget>/<variant>-<setting>/seed<S>``.
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
sys.path.insert(0, str(Path(__file__).resolve().parent))
from plot_curves import plot  # noqa: E402

CONFIG_DIR = ROOT / 'configs' / 'pixel_contrast'
LEAF = 'deeplabv3_r18-tiny-d8_mocov2-pool_1xb4-300it_aerial-dubai-heldout-128x128.py'
VARIANTS = {
    'ce': CONFIG_DIR / LEAF,
    'inbatch': CONFIG_DIR / f'pixcontrast_{LEAF}',
    'memory': CONFIG_DIR / f'pixcontrast-mem_{LEAF}',
}
# Contrast settings tried on the tuning tile (full budget, seed 0); '' = the config's own values
# (ContrastiveSeg's defaults). max_views sets the anchor budget: with ~16 (image, class) pairs
# per batch of 4, max_views=1 gives ~16 anchors an iteration, 50 gives ~800. Kept to the two
# settings that change the memory variant's anchor budget (2 CPU cores: each run costs minutes);
# the in-batch variant keeps ContrastiveSeg's defaults.
SWEEP: dict[str, dict[str, list[str]]] = {
    'ce': {'base': []},
    'inbatch': {
        'w0.1': [],
    },
    'memory': {
        'v1-w1': [],
        'v50-w1': ['model.contrast_loss.max_views=50'],
    },
}
PRETRAIN_CONFIG = ROOT / 'configs' / 'detco' / 'mocov2_resnet18-narrow_1xb16-1000it_shared-pool.py'
POOL_DIRS = {'isbi_em_train': 'isbi_em/train/image', 'isbi_em_test': 'isbi_em/test',
             'bccd': 'bccd/BCCD/JPEGImages', 'chess_train': 'chess/train',
             'chess_valid': 'chess/valid', 'chess_test': 'chess/test'}
HELD_OUT_TILES = (7, 8)
DIAGNOSTICS = ('contrast_anchors', 'contrast_keys', 'contrast_hard_share', 'loss_contrast')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--stage', choices=['all', 'pretrain', 'sweep', 'final', 'report'],
                        default='all')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--budgets', type=float, nargs='+', default=[1.0, 0.25],
                        help='label fractions of the 54 training images')
    parser.add_argument('--iters', type=int, default=300, help='fine-tuning iterations')
    parser.add_argument('--pretrain-iters', type=int, default=1000)
    parser.add_argument('--work-dir', default=str(ROOT / 'work_dirs' / 'compare_pixel_contrast'))
    parser.add_argument('--data-root', default=str(ROOT.parent / 'shared' / 'data'),
                        help='folder holding aerial_dubai/ (and the pool datasets)')
    parser.add_argument('--nice', type=int, default=0, help='niceness of the training processes')
    return parser.parse_args(argv)


# ------------------------------------------------------------------------------------- runs

def schedule_options(iters: int) -> list[str]:
    """``--cfg-options`` for an ``iters``-long fine-tuning: loop, poly decay, warm-up (1/8),
    checkpoint and validation every ``iters // 8``."""
    every = max(1, iters // 8)
    return [f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={every}',
            f'param_scheduler.0.end={iters}', f'default_hooks.checkpoint.interval={iters}']


def run_options(variant: str, seed: int, budget: float, iters: int, data_root: str,
                backbone: str) -> list[str]:
    """All ``--cfg-options`` of one fine-tuning run (before the sweep setting's own)."""
    aerial = str(Path(data_root) / 'aerial_dubai')
    options = [f'randomness.seed={seed}', f'model.backbone.init_cfg.checkpoint={backbone}',
               f'train_dataloader.dataset.label_fraction={budget}',
               *(f'{loader}.dataset.data_root={aerial}'
                 for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')),
               *schedule_options(iters)]
    if variant != 'ce':
        options.append(f'model.contrast_warmup_iters={max(1, iters // 8)}')
    return options


def run_dir(work_dir: Path, budget: float, variant: str, setting: str, seed: int) -> Path:
    return work_dir / 'runs' / f'b{budget:g}' / f'{variant}-{setting}' / f'seed{seed}'


def subprocess_env() -> dict[str, str]:
    paths = [str(ROOT)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(paths))


def run_tool(args: list[str], log_file: Path, niceness: int) -> float:
    """Run ``python tools/<args>`` from the project root, output to ``log_file``; wall seconds."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, *args]
    start = time.perf_counter()
    with open(log_file, 'w') as log:
        process = subprocess.run(command, cwd=ROOT, env=subprocess_env(), stdout=log,
                                 stderr=subprocess.STDOUT,
                                 preexec_fn=(lambda: os.nice(niceness)) if niceness else None)
    if process.returncode != 0:
        raise RuntimeError(f'failed (exit {process.returncode}): {" ".join(command)}; see {log_file}')
    return time.perf_counter() - start


def train_one(config: Path, work_dir: Path, options: list[str], niceness: int) -> float:
    """Run ``tools/train.py config`` once (log in ``work_dir/train_stdout.log``); wall seconds.
    (Also used by compare_pretraining.py.)"""
    return run_tool(['tools/train.py', str(config), '--work-dir', str(work_dir), '--cfg-options',
                     *options], work_dir / 'train_stdout.log', niceness)


def final_metrics(work_dir: Path, metrics: tuple[str, ...] = ('mIoU', 'mAcc', 'aAcc')) -> dict[str, float]:
    """The last validation ``metrics`` logged under ``work_dir/<timestamp>/vis_data/scalars.json``
    (also used by compare_pretraining.py).

    Raises:
        FileNotFoundError: the run logged no validation metrics.
    """
    try:
        last = last_validation(read_scalars(work_dir), metrics[0])
    except FileNotFoundError as error:
        raise FileNotFoundError(f'no validation metrics ({metrics[0]}) in '
                                f'{work_dir}/*/vis_data/scalars.json') from error
    return {key: last[key] for key in metrics if key in last}


def read_scalars(folder: Path) -> list[dict]:
    """Records of the newest ``<timestamp>/vis_data/scalars.json`` under ``folder``."""
    logs = sorted(folder.glob('*/vis_data/scalars.json'))
    if not logs:
        raise FileNotFoundError(f'no */vis_data/scalars.json under {folder}')
    return [json.loads(line) for line in logs[-1].read_text().splitlines() if line.strip()]


def last_validation(records: list[dict], key: str = 'mIoU') -> dict[str, float]:
    """The last record holding ``key`` (a validation: metrics and per-class ``IoU.<class>``),
    without its step."""
    found = [r for r in records if key in r]
    if not found:
        raise FileNotFoundError(f'no validation record ({key}) in the run\'s scalars')
    return {k: float(v) for k, v in found[-1].items() if k != 'step'}


def test_metrics(test_dir: Path) -> dict[str, float]:
    """Metrics of a ``tools/test.py`` run: the last line of its ``<timestamp>/<timestamp>.json``."""
    logs = sorted(p for p in test_dir.glob('*/*.json') if p.parent.name == p.stem)
    if not logs:
        raise FileNotFoundError(f'no test metrics json under {test_dir}')
    record = json.loads(logs[-1].read_text().splitlines()[-1])
    return {k: float(v) for k, v in record.items() if k.startswith(('mIoU', 'mAcc', 'aAcc', 'IoU.'))}


def diagnostics(records: list[dict], after_step: int) -> dict[str, float]:
    """Mean of the contrast diagnostics over training records logged after ``after_step``."""
    out = {}
    for key in DIAGNOSTICS:
        values = [r[key] for r in records if key in r and r.get('step', 0) > after_step]
        if values:
            out[key] = statistics.fmean(values)
    return out


def train_and_test(work: Path, variant: str, setting: str, seed: int, budget: float,
                   args: argparse.Namespace, backbone: str, with_test: bool) -> dict:
    """One run (reused when its ``run.json`` exists and holds what is asked): train, read the val
    curve's end and the diagnostics, optionally test on the held-out tile."""
    folder = run_dir(work, budget, variant, setting, seed)
    record_file = folder / 'run.json'
    record = json.loads(record_file.read_text()) if record_file.is_file() else None
    if record is None:
        config = VARIANTS[variant]
        options = run_options(variant, seed, budget, args.iters, args.data_root, backbone)
        options += SWEEP[variant][setting]
        print(f'[compare] train {folder.relative_to(work)}', flush=True)
        seconds = train_one(config, folder, options, args.nice)
        records = read_scalars(folder)
        record = {'variant': variant, 'setting': setting, 'seed': seed, 'budget': budget,
                  'iters': args.iters, 'config': str(config.relative_to(ROOT)),
                  'options': options, 'train_wall_time_s': seconds,
                  'val': last_validation(records),
                  'diagnostics': diagnostics(records, args.iters // 8)}
        record_file.write_text(json.dumps(record, indent=2))
    if with_test and 'test' not in record:
        checkpoint = folder / f'iter_{record["iters"]}.pth'
        print(f'[compare] test  {folder.relative_to(work)}', flush=True)
        seconds = run_tool(['tools/test.py', str(ROOT / record['config']), str(checkpoint),
                            '--work-dir', str(folder / 'test'), '--cfg-options',
                            *record['options']], folder / 'test_stdout.log', args.nice)
        record['test'] = test_metrics(folder / 'test')
        record['test_wall_time_s'] = seconds
        record_file.write_text(json.dumps(record, indent=2))
    return record


# ---------------------------------------------------------------------------------- stages

def build_pool(data_root: Path, pool: Path) -> list[str]:
    """A folder of links to the unlabelled pool images, aerial_dubai without the tuning and
    held-out tiles; returns its sub-folders."""
    pool.mkdir(parents=True, exist_ok=True)
    sources = {name: data_root / rel for name, rel in POOL_DIRS.items()}
    sources['aerial_dubai_train_tiles'] = data_root / 'aerial_dubai' / 'image'
    for name, source in sources.items():
        if not source.is_dir():
            raise FileNotFoundError(f'pool folder {source} is absent')
        target = pool / name
        target.mkdir(exist_ok=True)
        for image in sorted(source.iterdir()):
            if name.startswith('aerial') and image.stem.endswith(
                    tuple(f't{tile}' for tile in HELD_OUT_TILES)):
                continue
            link = target / image.name
            if not link.exists():
                link.symlink_to(image.resolve())
    return sorted(sources)


def pretrain(args: argparse.Namespace, work: Path) -> str:
    """MoCo v2 on the pool without tiles 7-8, exported; the backbone path (reused if present)."""
    backbone = work / 'pretrain' / 'backbone.pth'
    if backbone.is_file():
        return str(backbone)
    folder = work / 'pretrain'
    sub_dirs = build_pool(Path(args.data_root), folder / 'pool')
    iters = args.pretrain_iters
    options = ['randomness.seed=0', 'model.momentum=0.99',
               f'train_dataloader.dataset.data_root={folder / "pool"}',
               f'train_dataloader.dataset.sub_dirs=[{",".join(sub_dirs)}]',
               f'train_cfg.max_iters={iters}', f'param_scheduler.0.T_max={iters}',
               f'param_scheduler.0.end={iters}', f'default_hooks.checkpoint.interval={iters}']
    print('[compare] pretrain MoCo v2 on the pool', flush=True)
    seconds = train_one(PRETRAIN_CONFIG, folder, options, args.nice)
    run_tool(['tools/model_converters/detco_to_backbone.py', str(folder / f'iter_{iters}.pth'),
              str(backbone)], folder / 'convert_stdout.log', 0)
    (folder / 'run.json').write_text(json.dumps(
        {'config': str(PRETRAIN_CONFIG.relative_to(ROOT)), 'options': options,
         'wall_time_s': seconds}, indent=2))
    return str(backbone)


def choose_settings(sweep_runs: list[dict]) -> dict[str, str]:
    """Per variant, the setting with the highest tuning-tile (val) mIoU; ties keep the first."""
    best: dict[str, dict] = {}
    for run in sweep_runs:
        if run['variant'] not in best or run['val']['mIoU'] > best[run['variant']]['val']['mIoU']:
            best[run['variant']] = run
    return {variant: run['setting'] for variant, run in best.items()}


def sweep(args: argparse.Namespace, work: Path, backbone: str) -> dict[str, str]:
    runs = [train_and_test(work, variant, setting, 0, 1.0, args, backbone, with_test=False)
            for variant, settings in SWEEP.items() for setting in settings]
    chosen = choose_settings(runs)
    (work / 'sweep.json').write_text(json.dumps(
        {'chosen': chosen, 'val_mIoU': {f'{r["variant"]}-{r["setting"]}': r['val']['mIoU']
                                        for r in runs}}, indent=2))
    return chosen


def final(args: argparse.Namespace, work: Path, backbone: str, chosen: dict[str, str]) -> list[dict]:
    return [train_and_test(work, variant, chosen[variant], seed, budget, args, backbone, True)
            for budget in args.budgets for seed in args.seeds for variant in VARIANTS]


# ---------------------------------------------------------------------------------- report

def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summarise(runs: list[dict]) -> dict[str, dict]:
    """Per budget and variant: held-out mIoU per seed, mean ± std, paired difference to CE (per
    seed), per-class IoU delta to CE (mean over seeds), val mIoU, diagnostics and wall time."""
    summary: dict[str, dict] = {}
    for budget in dict.fromkeys(run['budget'] for run in runs):
        mine = [run for run in runs if run['budget'] == budget]
        base = {run['seed']: run for run in mine if run['variant'] == 'ce'}
        table = {}
        for variant in dict.fromkeys(run['variant'] for run in mine):
            rows = sorted((run for run in mine if run['variant'] == variant),
                          key=lambda run: run['seed'])
            entry: dict = {'setting': rows[0]['setting'],
                           'seeds': [run['seed'] for run in rows],
                           'test_mIoU': [run['test']['mIoU'] for run in rows],
                           'val_mIoU': [run['val']['mIoU'] for run in rows],
                           'wall_time_s': sum(run['train_wall_time_s'] for run in rows)}
            entry['test_mIoU_mean_std'] = mean_std(entry['test_mIoU'])
            paired = [run['test']['mIoU'] - base[run['seed']]['test']['mIoU']
                      for run in rows if run['seed'] in base]
            if variant != 'ce' and paired:
                entry['paired_diff'] = paired
                entry['paired_diff_mean_std'] = mean_std(paired)
                classes = [k for k in rows[0]['test'] if k.startswith('IoU.')]
                entry['class_delta'] = {
                    k[4:]: statistics.fmean(run['test'].get(k, 0.0) - base[run['seed']]['test'].get(k, 0.0)
                                            for run in rows if run['seed'] in base)
                    for k in classes}
            for key in DIAGNOSTICS:
                values = [run['diagnostics'][key] for run in rows if key in run['diagnostics']]
                if values:
                    entry[key] = statistics.fmean(values)
            table[variant] = entry
        summary[f'{budget:g}'] = table
    return summary


def format_report(summary: dict[str, dict]) -> str:
    """Markdown: per budget, a table of held-out results and one of per-class IoU deltas."""
    lines = []
    for budget, table in summary.items():
        share = float(budget)
        lines += [f'### Label budget {share:.0%} of the training images ({round(54 * share)} of tiles '
                  '1-6); held-out = tile 8', '',
                  '| variant (setting) | held-out mIoU per seed | mean ± std | paired diff. to CE '
                  '(mean ± std) | tile-7 mIoU mean | anchors / it | keys | hard share | '
                  'train time |', '|---|---|---|---|---|---|---|---|---|']
        for variant, entry in table.items():
            mean, std = entry['test_mIoU_mean_std']
            per_seed = ' / '.join(f'{v:.2f}' for v in entry['test_mIoU'])
            diff = ('-' if 'paired_diff' not in entry else
                    '{:+.2f} ± {:.2f} ({})'.format(*entry['paired_diff_mean_std'], ' / '.join(
                        f'{d:+.2f}' for d in entry['paired_diff'])))
            diag = [f'{entry[k]:.0f}' if k in entry else '-' for k in DIAGNOSTICS[:2]]
            hard = f'{entry["contrast_hard_share"]:.2f}' if 'contrast_hard_share' in entry else '-'
            lines.append(f'| {variant} ({entry["setting"]}) | {per_seed} | {mean:.2f} ± {std:.2f} | '
                         f'{diff} | {statistics.fmean(entry["val_mIoU"]):.2f} | {diag[0]} | '
                         f'{diag[1]} | {hard} | {entry["wall_time_s"] / 60:.1f} min |')
        deltas = {v: e['class_delta'] for v, e in table.items() if 'class_delta' in e}
        if deltas:
            classes = list(next(iter(deltas.values())))
            lines += ['', '| per-class IoU delta to CE | ' + ' | '.join(classes) + ' |',
                      '|---|' + '---|' * len(classes)]
            for variant, delta in deltas.items():
                lines.append(f'| {variant} | ' + ' | '.join(f'{delta[c]:+.2f}' for c in classes)
                             + ' |')
        lines.append('')
    return '\n'.join(lines)


def machine() -> dict[str, object]:
    """What the numbers were measured on: platform, CPUs, torch, load and code version."""
    import torch
    commit = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=ROOT, capture_output=True, text=True)
    return {'platform': platform.platform(), 'cpu_count': os.cpu_count(),
            'load_average_1_5_15': os.getloadavg(), 'torch': torch.__version__,
            'git_commit': commit.stdout.strip() or None}


def report(args: argparse.Namespace, work: Path, runs: list[dict]) -> None:
    summary = summarise(runs)
    (work / 'results.json').write_text(json.dumps(
        {'runs': runs, 'summary': summary, 'args': vars(args), 'machine': machine()}, indent=2))
    text = format_report(summary)
    (work / 'report.md').write_text(text)
    print(text)
    for budget in args.budgets:
        mine = [r for r in runs if r['budget'] == budget and r['seed'] == min(args.seeds)]
        if mine:
            plot([str(run_dir(work, budget, r['variant'], r['setting'], r['seed'])) for r in mine],
                 ['mIoU', 'loss'], str(work / f'curves_b{budget:g}.png'),
                 [f'{r["variant"]} ({r["setting"]})' for r in mine],
                 title=f'aerial_dubai, {budget:.0%} of the labels, seed {min(args.seeds)}: '
                       'mIoU on tile 7, training loss')


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    work = Path(args.work_dir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    backbone = pretrain(args, work)
    if args.stage == 'pretrain':
        return
    sweep_file = work / 'sweep.json'
    if args.stage in ('all', 'sweep') or not sweep_file.is_file():
        chosen = sweep(args, work, backbone)
    else:
        chosen = json.loads(sweep_file.read_text())['chosen']
    print(f'[compare] chosen settings: {chosen}', flush=True)
    if args.stage == 'sweep':
        return
    runs = final(args, work, backbone, chosen)
    report(args, work, runs)


if __name__ == '__main__':
    main()
