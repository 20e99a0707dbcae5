"""Real-data transfer check of DetCo: pretrain on the unlabelled pool of ../shared/data, then
fine-tune from random init, from DetCo and from its global-only ablation (MoCo v2).

    python tools/analysis_tools/compare_detco_transfer.py [--seeds 0 1 2] [--work-dir DIR]
        [--pretrain-iters 1000] [--seg-iters 200] [--det-iters 300] [--tasks isbi_em aerial_dubai bccd]
        [--data-root ../shared/data] [--nice 10]

1. Pretraining (once per method, seed 0): ``configs/detco/detco_...shared-pool.py`` and
   ``mocov2_...shared-pool.py``; the query backbone of the last checkpoint is exported with
   ``tools/model_converters/detco_to_backbone.py`` to ``DIR/pretrain/<method>/backbone.pth``.
2. Fine-tuning, seeds outer: isbi_em and aerial_dubai (narrow DeepLabV3 R-18-D8; mIoU of the final
   validation) from random init, DetCo and MoCo v2; bccd (narrow Faster R-CNN R-18-FPN;
   COCO bbox mAP) from random init and DetCo.

Every run is ``tools/train.py`` in a subprocess (helpers of compare_pixel_contrast.py). Prints a
table (per seed, mean ± sample std, wall time) and writes ``DIR/results.json``.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compare_pixel_contrast import final_metrics, machine, train_one  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / 'configs'
PRETRAIN = {
    'detco': CONFIGS / 'detco/detco_resnet18-narrow_1xb16-1000it_shared-pool.py',
    'mocov2': CONFIGS / 'detco/mocov2_resnet18-narrow_1xb16-1000it_shared-pool.py',
}
TRANSFER = CONFIGS / 'detco/transfer'
SEG_METRIC, DET_METRIC = 'mIoU', 'coco/bbox_mAP'
TASKS = {  # task: (metric, {variant: (config, pretraining method or None)})
    'isbi_em': (SEG_METRIC, {
        'random': (CONFIGS / 'pixel_contrast/deeplabv3_r18-tiny-d8_1xb4-200it_isbi-em-256x256.py',
                   None),
        'detco': (TRANSFER / 'deeplabv3_r18-tiny-d8_detco-shared-pool_1xb4-200it_isbi-em-256x256.py',
                  'detco'),
        'mocov2': (TRANSFER / 'deeplabv3_r18-tiny-d8_detco-shared-pool_1xb4-200it_isbi-em-256x256.py',
                   'mocov2')}),
    'aerial_dubai': (SEG_METRIC, {
        'random': (CONFIGS / 'pixel_contrast/deeplabv3_r18-tiny-d8_1xb4-200it_aerial-dubai-256x256.py',
                   None),
        'detco': (TRANSFER / 'deeplabv3_r18-tiny-d8_detco-shared-pool_1xb4-200it_aerial-dubai-256x256.py',
                  'detco'),
        'mocov2': (TRANSFER / 'deeplabv3_r18-tiny-d8_detco-shared-pool_1xb4-200it_aerial-dubai-256x256.py',
                   'mocov2')}),
    'bccd': (DET_METRIC, {
        'random': (TRANSFER / 'faster-rcnn_r18-tiny_fpn_1xb2-300it_bccd.py', None),
        'detco': (TRANSFER / 'faster-rcnn_r18-tiny_fpn_detco-shared-pool_1xb2-300it_bccd.py',
                  'detco')}),
}
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--tasks', nargs='+', choices=sorted(TASKS), default=list(TASKS))
    parser.add_argument('--work-dir', default=str(ROOT / 'work_dirs' / 'compare_detco_transfer'))
    parser.add_argument('--data-root', help='../shared/data (default: the configs\' paths)')
    parser.add_argument('--pretrain-iters', type=int, default=1000)
    parser.add_argument('--seg-iters', type=int, default=200)
    parser.add_argument('--det-iters', type=int, default=300)
    parser.add_argument('--skip-pretrain', action='store_true',
                        help='reuse DIR/pretrain/<method>/backbone.pth')
    parser.add_argument('--nice', type=int, default=10)
    return parser.parse_args(argv)


def pretrain_options(iters: int, data_root: str | None) -> list[str]:
    """``--cfg-options`` of a pretraining run of ``iters`` iterations."""
    options = ['randomness.seed=0', f'train_cfg.max_iters={iters}',
               f'param_scheduler.0.T_max={iters}', f'param_scheduler.0.end={iters}',
               f'default_hooks.checkpoint.interval={iters}']
    if data_root is not None:
        options.append(f'train_dataloader.dataset.data_root={data_root}')
    return options


def finetune_options(task: str, seed: int, iters: int, data_root: str | None,
                     backbone: Path | None) -> list[str]:
    """``--cfg-options`` of a fine-tuning run: seed, length, data root, pretrained backbone."""
    options = [f'randomness.seed={seed}', f'train_cfg.max_iters={iters}',
               f'train_cfg.val_interval={iters}', f'default_hooks.checkpoint.interval={iters}']
    # seg: one PolyLR; det: linear warm-up then constant (the last scheduler ends the schedule)
    options.append(f'param_scheduler.{0 if TASKS[task][0] == SEG_METRIC else 1}.end={iters}')
    if data_root is not None:
        folder = Path(data_root) / task
        options += [f'{loader}.dataset.data_root={folder}' for loader in LOADERS]
        if task == 'bccd':
            ann = folder / 'coco_derived/bccd_val.json'
            options += [f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}']
    if backbone is not None:
        options.append(f'model.backbone.init_cfg.checkpoint={backbone}')
    return options


def export_backbone(work_dir: Path, iters: int) -> Path:
    """Run the converter on ``work_dir/iter_<iters>.pth``; returns the backbone checkpoint."""
    spec = importlib.util.spec_from_file_location(
        'detco_to_backbone', ROOT / 'tools/model_converters/detco_to_backbone.py')
    converter = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(converter)
    out = work_dir / 'backbone.pth'
    converter.convert(str(work_dir / f'iter_{iters}.pth'), str(out))
    return out


def summarise(runs: list[dict]) -> list[dict]:
    """One row per (task, variant): metric per seed, mean, sample std, total wall time."""
    rows = []
    for key in dict.fromkeys((run['task'], run['variant']) for run in runs):
        mine = [run for run in runs if (run['task'], run['variant']) == key]
        values = [run['value'] for run in mine]
        rows.append({'task': key[0], 'variant': key[1], 'metric': mine[0]['metric'],
                     'values': values, 'mean': statistics.fmean(values),
                     'std': statistics.stdev(values) if len(values) > 1 else 0.0,
                     'wall_time_s': sum(run['wall_time_s'] for run in mine)})
    return rows


def format_table(rows: list[dict]) -> str:
    """Markdown table of :func:`summarise`'s rows."""
    lines = ['| task | init | metric | per seed | mean ± std | wall time |', '|---|---|---|---|---|---|']
    for row in rows:
        per_seed = ' / '.join(f'{v:.2f}' for v in row['values'])
        lines.append(f'| {row["task"]} | {row["variant"]} | {row["metric"]} | {per_seed} | '
                     f'{row["mean"]:.2f} ± {row["std"]:.2f} | {row["wall_time_s"] / 60:.1f} min |')
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    out = Path(args.work_dir).resolve()
    start = time.perf_counter()
    needed = {method for task in args.tasks for _, method in TASKS[task][1].values() if method}
    backbones, pretraining = {}, {}
    for method in sorted(needed):
        work = out / 'pretrain' / method
        if not args.skip_pretrain:
            print(f'[detco-transfer] pretraining {method} -> {work}', flush=True)
            pretraining[method] = train_one(PRETRAIN[method], work,
                                            pretrain_options(args.pretrain_iters, args.data_root),
                                            args.nice)
            export_backbone(work, args.pretrain_iters)
        backbones[method] = work / 'backbone.pth'
    runs = []
    for seed in args.seeds:
        for task in args.tasks:
            metric, variants = TASKS[task]
            iters = args.seg_iters if metric == SEG_METRIC else args.det_iters
            for variant, (config, method) in variants.items():
                work = out / task / variant / f'seed{seed}'
                options = finetune_options(task, seed, iters, args.data_root,
                                           backbones.get(method))
                print(f'[detco-transfer] {task} {variant} seed {seed} -> {work}', flush=True)
                seconds = train_one(config, work, options, args.nice)
                value = final_metrics(work, (metric,))[metric]
                value = value * 100 if metric == DET_METRIC else value  # mAP in %
                runs.append({'task': task, 'variant': variant, 'seed': seed, 'metric': metric,
                             'value': value, 'wall_time_s': seconds,
                             'config': str(config.relative_to(ROOT))})
                print(f'[detco-transfer]   {metric} {value:.2f} in {seconds / 60:.1f} min',
                      flush=True)
    rows = summarise(runs)
    result = {'runs': runs, 'summary': rows, 'pretraining_wall_time_s': pretraining,
              'args': vars(args), 'total_wall_time_s': time.perf_counter() - start,
              'machine': machine()}
    out.mkdir(parents=True, exist_ok=True)
    (out / 'results.json').write_text(json.dumps(result, indent=2))
    print(format_table(rows))
    print(f'pretraining: {", ".join(f"{k} {v / 60:.1f} min" for k, v in pretraining.items())}; '
          f'total {result["total_wall_time_s"] / 60:.1f} min; results in {out / "results.json"}')


if __name__ == '__main__':
    main()
