"""Fine-tuning with few labels from random init and from each pretraining method's backbone, on the
real data of ../shared/data, several seeds: the comparison of the pretraining zoo (DetCo's
transfer check is the subset ``--methods random detco mocov2``).

    python tools/analysis_tools/compare_pretraining.py [--methods random detco mocov2 ...]
        [--tasks isbi_em aerial_dubai bccd] [--seeds 0 1 2] [--work-dir DIR]
        [--pretrain-iters N] [--seg-iters 200] [--det-iters 300] [--data-root ../shared/data]
        [--reuse] [--nice 10]

1. Pretraining, once per method (seed 0; labels unused): methods pretrained on the unlabelled pool
   of ../shared/data run once for every task, the others (GLCNet, PCRL, pixel-contrast
   pretraining) once per task on that task's images. ``--pretrain-iters`` overrides each
   config's length (default: the config's). The backbone of the last checkpoint is exported with
   ``tools/model_converters/detco_to_backbone.py`` to ``DIR/pretrain/<method>[/<task>]/backbone.pth``.
2. Fine-tuning, seeds outer: isbi_em and aerial_dubai (mIoU of the final validation), bccd (COCO
   bbox mAP, %), each method's fine-tuning config with ``model.backbone.init_cfg.checkpoint`` set
   to its export. A method without a config for a task is left out of that task.

Every run is ``tools/train.py`` in a subprocess (``compare_pixel_contrast.train_one``); each
finished run leaves ``run.json`` in its work dir, and ``--reuse`` takes those instead of training
again (an interrupted comparison goes on where it stopped). Prints one table (per method and task:
mean ± sample std; pretraining CPU and wall time) and writes ``DIR/results.json``.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[2]))  # cl_dense of this checkout

from compare_pixel_contrast import final_metrics, machine, train_one  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / 'configs'
SEG_METRIC, DET_METRIC = 'mIoU', 'coco/bbox_mAP'
TASK_METRICS = {'isbi_em': SEG_METRIC, 'aerial_dubai': SEG_METRIC, 'bccd': DET_METRIC}
TASK_SLUGS = {'isbi_em': 'isbi-em', 'aerial_dubai': 'aerial-dubai'}
POOL = '*'  # pretraining key of the methods pretrained once on the unlabelled pool
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


@dataclass(frozen=True)
class Method:
    """How one initialisation is pretrained and fine-tuned.

    Attributes:
        pretrain: task -> pretraining config; the key :data:`POOL` is one run for every task
            (on the unlabelled pool); empty for random init.
        finetune: task -> fine-tuning config (the tasks the method is compared on).
        prefix: the converter's ``--prefix`` (``None``: found by the converter).
        source: where the implementation comes from (for the table).
        task_root: a per-task pretraining config reads ``data_root/<task>`` (a labelled mmseg
            dataset); ``False``: it reads ``data_root`` itself and picks the task's images by
            its own sub-folders (an ``UnlabelledImageFolder``, like the pool).
    """
    pretrain: dict[str, Path]
    finetune: dict[str, Path]
    prefix: str | None = None
    source: str = 'cl_dense'
    task_root: bool = True

    def pretrain_key(self, task: str) -> str | None:
        """The key of the pretraining run whose backbone ``task`` fine-tunes from."""
        if POOL in self.pretrain:
            return POOL
        return task if task in self.pretrain else None


def deeplab(task: str) -> Path:
    """The CPU-sized DeepLabV3 R-18-D8 of ``task`` (random init)."""
    return CONFIGS / f'pixel_contrast/deeplabv3_r18-tiny-d8_1xb4-200it_{TASK_SLUGS[task]}-256x256.py'


def deeplab_from_backbone(task: str) -> Path:
    """The same model and schedule with ``init_cfg=Pretrained`` on the backbone."""
    return (CONFIGS / 'detco/transfer' /
            f'deeplabv3_r18-tiny-d8_detco-shared-pool_1xb4-200it_{TASK_SLUGS[task]}-256x256.py')


def unet(task: str, init: str = '') -> Path:
    """The narrow UNet-S5-D16 + FCN of ``task``; ``init`` names its pretrained variant."""
    return CONFIGS / f'pcrl/fcn_unet-s5-d16{init}_1xb4-200it_{TASK_SLUGS[task]}-256x256.py'


BCCD = CONFIGS / 'detco/transfer/faster-rcnn_r18-tiny_fpn_1xb2-300it_bccd.py'
BCCD_FROM_BACKBONE = CONFIGS / 'detco/transfer/faster-rcnn_r18-tiny_fpn_detco-shared-pool_1xb2-300it_bccd.py'
SEG_TASKS = ('isbi_em', 'aerial_dubai')


def pool_method(config: str, source: str = 'cl_dense', **kwargs) -> Method:
    """A method pretrained once on the pool, fine-tuned with the DeepLabV3 transfer configs."""
    return Method({POOL: CONFIGS / config}, {t: deeplab_from_backbone(t) for t in SEG_TASKS},
                  source=source, **kwargs)


METHODS: dict[str, Method] = {
    'random': Method({}, {**{t: deeplab(t) for t in SEG_TASKS}, 'bccd': BCCD}, source='-'),
    'detco': Method({POOL: CONFIGS / 'detco/detco_resnet18-narrow_1xb16-1000it_shared-pool.py'},
                    {**{t: deeplab_from_backbone(t) for t in SEG_TASKS},
                     'bccd': BCCD_FROM_BACKBONE}),
    'mocov2': pool_method('detco/mocov2_resnet18-narrow_1xb16-1000it_shared-pool.py'),
    **{name: pool_method(f'selfsup_zoo/{name}_resnet18-narrow_1xb16-1000it_shared-pool.py',
                         source='mmpretrain') for name in ('simclr', 'byol', 'swav')},
    **{name: pool_method(f'selfsup_zoo/{name}_resnet18-narrow_1xb16-1000it_shared-pool.py')
       for name in ('nnclr', 'pcl')},
    'glcnet': Method({t: CONFIGS / f'glcnet/glcnet_deeplabv3_r18-tiny-d8_1xb8-300it_{TASK_SLUGS[t]}.py'
                      for t in SEG_TASKS},
                     {t: deeplab_from_backbone(t) for t in SEG_TASKS}, task_root=False),
    'pixcontrast': Method(
        {t: CONFIGS / 'pixel_contrast_pretrain' /
         f'pixcontrast-pretrain_deeplabv3_r18-tiny-d8_1xb4-200it_{TASK_SLUGS[t]}-256x256.py'
         for t in SEG_TASKS},
        {t: deeplab_from_backbone(t) for t in SEG_TASKS}),
    # PCRL pretrains and fine-tunes a UNet: compare it with the UNet's own random init
    'random-unet': Method({}, {t: unet(t) for t in SEG_TASKS}, source='-'),
    'pcrl': Method({t: CONFIGS / f'pcrl/pcrl_unet-s5-d16_1xb8-800it_{TASK_SLUGS[t]}.py'
                    for t in SEG_TASKS},
                   {t: unet(t, f'_pcrl-{TASK_SLUGS[t]}') for t in SEG_TASKS}, task_root=False),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--methods', nargs='+', choices=sorted(METHODS), default=list(METHODS))
    parser.add_argument('--tasks', nargs='+', choices=sorted(TASK_METRICS),
                        default=['isbi_em', 'aerial_dubai'])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--work-dir', default=str(ROOT / 'work_dirs' / 'compare_pretraining'))
    parser.add_argument('--data-root', help='../shared/data (default: the configs\' paths)')
    parser.add_argument('--pretrain-iters', type=int,
                        help='iterations of every pretraining (default: each config\'s)')
    parser.add_argument('--seg-iters', type=int, default=200)
    parser.add_argument('--det-iters', type=int, default=300)
    parser.add_argument('--reuse', action='store_true',
                        help='take finished runs (their run.json) instead of training again')
    parser.add_argument('--nice', type=int, default=10)
    return parser.parse_args(argv)


def schedule_options(config: Path, iters: int | None) -> tuple[list[str], int]:
    """``--cfg-options`` making ``config`` an ``iters``-iteration run (``None``: its own length),
    and that length (:func:`cl_dense.selfsup.schedule.schedule_overrides`)."""
    from mmengine.config import Config

    from cl_dense.selfsup.schedule import schedule_overrides

    overrides, iters = schedule_overrides(Config.fromfile(str(config)), iters)
    return [f'{key}={value}' for key, value in overrides.items()], iters


def data_options(task: str | None, data_root: str | None, loaders: tuple[str, ...]) -> list[str]:
    """Data-root overrides: the pool (``task=None``) is ``data_root`` itself, a task's data is
    ``data_root/<task>`` (bccd also moves its COCO annotation file)."""
    if data_root is None:
        return []
    folder = Path(data_root) / task if task else Path(data_root)
    options = [f'{loader}.dataset.data_root={folder}' for loader in loaders]
    if task == 'bccd' and 'val_dataloader' in loaders:
        ann = folder / 'coco_derived/bccd_val.json'
        options += [f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}']
    return options


def pretrain_options(config: Path, key: str, iters: int | None, data_root: str | None,
                     task_root: bool = True) -> tuple[list[str], int]:
    """``--cfg-options`` of a pretraining run (seed 0) and its length; ``task_root`` as in
    :class:`Method`."""
    options, iters = schedule_options(config, iters)
    task = None if key == POOL or not task_root else key
    return ['randomness.seed=0', *options, *data_options(task, data_root, ('train_dataloader',))], iters


def finetune_options(config: Path, task: str, seed: int, iters: int, data_root: str | None,
                     backbone: Path | None) -> list[str]:
    """``--cfg-options`` of a fine-tuning run: seed, length, data root, pretrained backbone."""
    options = [f'randomness.seed={seed}', *schedule_options(config, iters)[0],
               *data_options(task, data_root, LOADERS)]
    if backbone is not None:
        options.append(f'model.backbone.init_cfg.checkpoint={backbone}')
    return options


def export_backbone(work_dir: Path, iters: int, prefix: str | None) -> Path:
    """Run the converter on ``work_dir/iter_<iters>.pth``; returns the backbone checkpoint."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        'detco_to_backbone', ROOT / 'tools/model_converters/detco_to_backbone.py')
    converter = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(converter)
    out = work_dir / 'backbone.pth'
    converter.convert(str(work_dir / f'iter_{iters}.pth'), str(out), prefix=prefix)
    return out


def children_cpu_seconds() -> float:
    """User + system CPU seconds of this process's finished children and their descendants
    (the training process and its data-loading workers): unlike wall time, not inflated by other
    jobs on a shared machine."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(config: Path, work_dir: Path, options: list[str], nice: int, reuse: bool,
             finish=None) -> dict:
    """Train (or, with ``reuse``, take the recorded run in ``work_dir/run.json``); ``finish``
    maps the work dir to extra fields recorded with the wall time."""
    record = work_dir / 'run.json'
    if reuse and record.exists():
        return json.loads(record.read_text())
    cpu_before = children_cpu_seconds()
    wall = train_one(config, work_dir, options, nice)
    result = {'wall_time_s': wall, 'cpu_time_s': children_cpu_seconds() - cpu_before,
              'config': str(config.relative_to(ROOT)), 'options': options}
    if finish is not None:
        result.update(finish(work_dir))
    record.write_text(json.dumps(result, indent=2))
    return result


def summarise(runs: list[dict], pretraining: dict[str, dict[str, dict]]) -> list[dict]:
    """One row per method: per task the metric's values, mean and sample std; the total
    pretraining wall and CPU time of the method (``pretraining[method][key]`` are the
    pretraining runs' records; CPU time ``None`` if a reused record lacks it)."""
    rows = []
    for method in dict.fromkeys(run['method'] for run in runs):
        records = list(pretraining.get(method, {}).values())
        cpu = [r.get('cpu_time_s') for r in records]
        row = {'method': method, 'source': METHODS[method].source, 'tasks': {},
               'pretraining_s': sum(r['wall_time_s'] for r in records),
               'pretraining_cpu_s': None if None in cpu else sum(cpu)}
        for task in dict.fromkeys(run['task'] for run in runs if run['method'] == method):
            values = [run['value'] for run in runs if (run['method'], run['task']) == (method, task)]
            row['tasks'][task] = {'values': values, 'mean': statistics.fmean(values),
                                  'std': statistics.stdev(values) if len(values) > 1 else 0.0}
        rows.append(row)
    return rows


def format_table(rows: list[dict], tasks: list[str]) -> str:
    """Markdown table of :func:`summarise`'s rows (``-`` where a method has no such task)."""
    header = [f'{task} {"mIoU" if TASK_METRICS[task] == SEG_METRIC else "bbox mAP (%)"}'
              for task in tasks]
    lines = ['| method | ' + ' | '.join(header) +
             ' | pretraining CPU time (wall) | implementation |',
             '|---|' + '---|' * len(tasks) + '---|---|']
    for row in rows:
        cells = [f'{row["tasks"][t]["mean"]:.2f} ± {row["tasks"][t]["std"]:.2f}'
                 if t in row['tasks'] else '-' for t in tasks]
        cpu = row['pretraining_cpu_s']
        pretraining = ('-' if not row['pretraining_s'] else
                       f'{"?" if cpu is None else f"{cpu / 60:.1f}"} min '
                       f'({row["pretraining_s"] / 60:.1f} min)')
        lines.append(f'| {row["method"]} | ' + ' | '.join(cells) +
                     f' | {pretraining} | {row["source"]} |')
    return '\n'.join(lines)


def pretrain_all(args: argparse.Namespace, out: Path) -> tuple[dict, dict]:
    """Pretrain and export what the chosen methods and tasks need; returns
    ``(backbones[method][key], run records[method][key])``."""
    backbones: dict[str, dict[str, Path]] = {}
    times: dict[str, dict[str, float]] = {}
    for name in args.methods:
        method = METHODS[name]
        keys = dict.fromkeys(k for t in args.tasks if t in method.finetune
                             for k in [method.pretrain_key(t)] if k)
        for key in keys:
            config = method.pretrain[key]
            work = out / 'pretrain' / name / ('' if key == POOL else key)
            options, iters = pretrain_options(config, key, args.pretrain_iters, args.data_root,
                                              method.task_root)
            print(f'[compare-pretraining] pretraining {name} ({key}) -> {work}', flush=True)
            done = run_once(config, work, options, args.nice, args.reuse,
                            lambda w: {'backbone': str(export_backbone(w, iters, method.prefix))})
            backbones.setdefault(name, {})[key] = Path(done['backbone'])
            times.setdefault(name, {})[key] = done
    return backbones, times


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    out = Path(args.work_dir).resolve()
    start = time.perf_counter()
    backbones, pretraining = pretrain_all(args, out)
    runs = []
    for seed in args.seeds:
        for task in args.tasks:
            metric = TASK_METRICS[task]
            iters = args.seg_iters if metric == SEG_METRIC else args.det_iters
            for name in args.methods:
                method = METHODS[name]
                if task not in method.finetune:
                    continue
                config = method.finetune[task]
                key = method.pretrain_key(task)
                backbone = backbones[name][key] if key else None
                work = out / task / name / f'seed{seed}'
                options = finetune_options(config, task, seed, iters, args.data_root, backbone)
                print(f'[compare-pretraining] {task} {name} seed {seed} -> {work}', flush=True)
                scale = 100 if metric == DET_METRIC else 1  # mAP in %
                done = run_once(config, work, options, args.nice, args.reuse,
                                lambda w: {'value': final_metrics(w, (metric,))[metric] * scale})
                runs.append({'task': task, 'method': name, 'seed': seed, 'metric': metric, **done})
                print(f'[compare-pretraining]   {metric} {done["value"]:.2f} in '
                      f'{done["wall_time_s"] / 60:.1f} min', flush=True)
    rows = summarise(runs, pretraining)
    result = {'runs': runs, 'summary': rows, 'pretraining': pretraining,
              'args': vars(args), 'total_wall_time_s': time.perf_counter() - start,
              'machine': machine()}
    out.mkdir(parents=True, exist_ok=True)
    (out / 'results.json').write_text(json.dumps(result, indent=2))
    print(format_table(rows, args.tasks))
    print(f'total {result["total_wall_time_s"] / 60:.1f} min; results in {out / "results.json"}')


if __name__ == '__main__':
    main()
