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
import os
import resource
import statistics
import subprocess
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
PRETRAIN_DATA = ('pool', 'in-domain')
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
DEFAULT_DATA_ROOT = '../shared/data'  # the configs' (relative to the repository root)
# in-domain pretraining: the task's own images under the data root (labels never read)
IN_DOMAIN_DIRS = {'isbi_em': ['isbi_em/train/image', 'isbi_em/test'],
                  'aerial_dubai': ['aerial_dubai/image'], 'bccd': ['bccd/BCCD/JPEGImages']}
# --holdout: (dataset argument, labelled train keys, validation keys (curves), held-out test keys);
# the train split of FixedSplitSegDataset is every key not in its ``val_*`` list
SEG_HOLDOUT = {'isbi_em': ('val_slices', range(0, 20), range(20, 24), range(24, 30)),
               'aerial_dubai': ('val_tiles', (1, 2), (7,), (8,))}  # 2 of 8 tiles labelled
SEG_KEYS = {'isbi_em': range(0, 30), 'aerial_dubai': range(1, 9)}


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
    parser.add_argument('--pretrain-data', nargs='+', choices=PRETRAIN_DATA, default=['pool'],
                        help='pool: the pool methods pretrain once on the unlabelled pool; '
                        'in-domain: also once per task on its own images (rows "<method> '
                        '(in-domain)"); per-task methods (GLCNet, PCRL, ...) are in-domain anyway')
    parser.add_argument('--holdout', action=argparse.BooleanOptionalAction, default=True,
                        help='train / val (curves) / held-out test splits, final numbers on the '
                        'test split (default); --no-holdout: the configs\' train/val, final val')
    parser.add_argument('--val-interval', type=int,
                        help='validate every N fine-tuning iterations for the curves '
                        '(default: once, at the end)')
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


def holdout_options(task: str, data_root: str | None) -> list[str]:
    """Three disjoint splits: train (the labelled images), val (the validation curve, every
    ``val_interval``) and test (held out: evaluated once, after training, by ``tools/test.py``).
    isbi_em: slices 0-19 / 20-23 / 24-29; aerial_dubai: tiles 1-2 / 7 / 8; bccd: the COCO
    train / val / test files."""
    if task == 'bccd':
        ann = Path(data_root or DEFAULT_DATA_ROOT) / 'bccd/coco_derived/bccd_test.json'
        return ['test_dataloader.dataset.ann_file=coco_derived/bccd_test.json',
                f'test_evaluator.ann_file={ann}']
    arg, train, val, test = SEG_HOLDOUT[task]
    not_train = [k for k in SEG_KEYS[task] if k not in train]
    return [f'train_dataloader.dataset.{arg}={not_train}', f'val_dataloader.dataset.{arg}={list(val)}',
            f'test_dataloader.dataset.{arg}={list(test)}', 'test_dataloader.dataset.split=val']


def pretrain_options(config: Path, key: str, iters: int | None, data_root: str | None,
                     task_root: bool = True, in_domain: str | None = None) -> tuple[list[str], int]:
    """``--cfg-options`` of a pretraining run (seed 0) and its length; ``task_root`` as in
    :class:`Method`; ``in_domain`` names a task whose own images replace the pool."""
    options, iters = schedule_options(config, iters)
    task = None if key == POOL or not task_root else key
    options = ['randomness.seed=0', *options, *data_options(task, data_root, ('train_dataloader',))]
    if in_domain is not None:
        options.append(f'train_dataloader.dataset.sub_dirs={IN_DOMAIN_DIRS[in_domain]}')
    return options, iters


def finetune_options(config: Path, task: str, seed: int, iters: int, data_root: str | None,
                     backbone: Path | None, holdout: bool = False,
                     val_interval: int | None = None) -> list[str]:
    """``--cfg-options`` of a fine-tuning run: seed, length, data root, pretrained backbone,
    with ``holdout`` the three splits of :func:`holdout_options`, and a validation every
    ``val_interval`` iterations (the curve; ``None``: once, at the end)."""
    options = [f'randomness.seed={seed}', *schedule_options(config, iters)[0],
               *data_options(task, data_root, LOADERS)]
    if holdout:
        options += holdout_options(task, data_root)
    if val_interval:
        options.append(f'train_cfg.val_interval={val_interval}')
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


def train_env() -> dict[str, str]:
    """The environment of the training / test subprocesses: this checkout's cl_dense first."""
    paths = [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), *paths]))


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


def single_class_count(metrics: dict, tolerance: float = 0.02) -> int | None:
    """``k >= 2`` when mmseg's metrics (in %) are those of a prediction of one class everywhere,
    else ``None`` (also without ``mIoU``, ``aAcc`` and ``mAcc``).

    Predicting class ``c`` for every pixel gives ``IoU_c = Acc_all = aAcc``, IoU and accuracy 0
    for the other ``k - 1`` classes present in the ground truth, and accuracy 100 for ``c``: so
    ``mAcc = 100 / k`` and ``mIoU = aAcc / k`` with the same integer ``k`` (isbi_em's stuck runs:
    mIoU 40.18, aAcc 80.35, mAcc 50). ``tolerance`` covers mmseg's rounding to 2 decimals.
    """
    if not {'mIoU', 'aAcc', 'mAcc'} <= metrics.keys() or metrics['mAcc'] <= 0:
        return None
    k = round(100.0 / metrics['mAcc'])
    if k < 2 or abs(metrics['mAcc'] - 100.0 / k) > tolerance:
        return None
    return k if abs(metrics['mIoU'] - metrics['aAcc'] / k) <= tolerance else None


def is_stuck(metrics: dict) -> bool | None:
    """Whether a segmentation run never left one class (:func:`single_class_count`); ``None``
    when its record lacks ``aAcc``/``mAcc`` (runs recorded before these were kept)."""
    if not {'mIoU', 'aAcc', 'mAcc'} <= metrics.keys():
        return None
    return single_class_count(metrics) is not None


def validation_curve(work_dir: Path, metric: str) -> list[list[float]]:
    """``[[iteration, value], ...]`` of every validation ``metric`` logged in the run's last
    ``*/vis_data/scalars.json`` (empty if none)."""
    logs = sorted(work_dir.glob('*/vis_data/scalars.json'))
    if not logs:
        return []
    records = [json.loads(line) for line in logs[-1].read_text().splitlines() if line.strip()]
    return [[record['step'], float(record[metric])] for record in records if metric in record]


def test_metrics(work_dir: Path) -> dict[str, float]:
    """The metrics of ``tools/test.py`` run with ``--work-dir work_dir`` (its
    ``<timestamp>/<timestamp>.json``, the last one)."""
    logs = sorted(p for p in work_dir.glob('*/*.json') if p.stem == p.parent.name)
    if not logs:
        raise FileNotFoundError(f'no test metrics in {work_dir}/<timestamp>/<timestamp>.json')
    return {k: float(v) for k, v in json.loads(logs[-1].read_text()).items()
            if isinstance(v, (int, float))}


def evaluate_held_out(config: Path, work_dir: Path, options: list[str], iters: int,
                      nice: int) -> dict[str, float]:
    """``tools/test.py`` on the run's last checkpoint with its test split."""
    command = [sys.executable, str(ROOT / 'tools/test.py'), str(config),
               str(work_dir / f'iter_{iters}.pth'), '--work-dir', str(work_dir / 'held_out'),
               '--cfg-options', *options]
    with open(work_dir / 'test_stdout.log', 'w') as log:
        process = subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                 env=train_env(), preexec_fn=(lambda: os.nice(nice)) if nice else None)
    if process.returncode != 0:
        raise RuntimeError(f'held-out evaluation failed (exit {process.returncode}): see '
                           f'{work_dir / "test_stdout.log"}')
    return test_metrics(work_dir / 'held_out')


def summarise(runs: list[dict], pretraining: dict[str, dict[str, dict]]) -> list[dict]:
    """One row per variant (``run['variant']``, default the method): per task every run's value,
    the number of stuck runs (``run['stuck']``, :func:`is_stuck`) and the mean and sample std of
    the others (``None`` when all are stuck); the total pretraining wall and CPU time
    (``pretraining[variant][key]`` are the pretraining runs' records; CPU time ``None`` if a
    reused record lacks it)."""
    rows = []
    for variant in dict.fromkeys(run.get('variant', run['method']) for run in runs):
        mine = [run for run in runs if run.get('variant', run['method']) == variant]
        records = list(pretraining.get(variant, {}).values())
        cpu = [r.get('cpu_time_s') for r in records]
        row = {'method': variant, 'source': METHODS[mine[0]['method']].source, 'tasks': {},
               'pretraining_s': sum(r['wall_time_s'] for r in records),
               'pretraining_cpu_s': None if None in cpu else sum(cpu)}
        for task in dict.fromkeys(run['task'] for run in mine):
            task_runs = [run for run in mine if run['task'] == task]
            values = [run['value'] for run in task_runs]
            kept = [run['value'] for run in task_runs if not run.get('stuck')]
            row['tasks'][task] = {
                'values': values, 'stuck': sum(bool(run.get('stuck')) for run in task_runs),
                'mean': statistics.fmean(kept) if kept else None,
                'std': (statistics.stdev(kept) if len(kept) > 1 else 0.0) if kept else None,
                'wall_time_s': statistics.fmean(run['wall_time_s'] for run in task_runs)}
        rows.append(row)
    return rows


def format_cell(entry: dict) -> str:
    """``mean ± std`` of the runs that left the majority class, and how many did not."""
    total, stuck = len(entry['values']), entry.get('stuck', 0)
    if entry['mean'] is None:
        return f'stuck ({stuck}/{total})'
    cell = f'{entry["mean"]:.2f} ± {entry["std"]:.2f}'
    return cell + (f' ({stuck}/{total} stuck, excluded)' if stuck else '')


def format_table(rows: list[dict], tasks: list[str]) -> str:
    """Markdown table of :func:`summarise`'s rows (``-`` where a method has no such task)."""
    header = [f'{task} {"mIoU" if TASK_METRICS[task] == SEG_METRIC else "bbox mAP (%)"}'
              for task in tasks]
    lines = ['| method | ' + ' | '.join(header) +
             ' | pretraining CPU time (wall) | implementation |',
             '|---|' + '---|' * len(tasks) + '---|---|']
    for row in rows:
        cells = [format_cell(row['tasks'][t]) if t in row['tasks'] else '-' for t in tasks]
        cpu = row['pretraining_cpu_s']
        pretraining = ('-' if not row['pretraining_s'] else
                       f'{"?" if cpu is None else f"{cpu / 60:.1f}"} min '
                       f'({row["pretraining_s"] / 60:.1f} min)')
        lines.append(f'| {row["method"]} | ' + ' | '.join(cells) +
                     f' | {pretraining} | {row["source"]} |')
    return '\n'.join(lines)


def variant_name(method: str, data: str) -> str:
    """The table row of ``method`` pretrained on ``data`` (``'pool'`` keeps the method's name)."""
    return method if data == 'pool' else f'{method} ({data})'


def pretraining_plan(args: argparse.Namespace) -> list[tuple[str, str, str, str | None]]:
    """``(variant, method, key, in-domain task)`` of every pretraining run the chosen methods,
    tasks and ``--pretrain-data`` need; a pool method's in-domain key is ``in-domain/<task>``."""
    plan = []
    for name in args.methods:
        method = METHODS[name]
        tasks = [t for t in args.tasks if t in method.finetune]
        if 'pool' in args.pretrain_data or POOL not in method.pretrain:
            plan += [(name, name, key, None) for key in dict.fromkeys(
                k for t in tasks for k in [method.pretrain_key(t)] if k)]
        if 'in-domain' in args.pretrain_data and POOL in method.pretrain:
            plan += [(variant_name(name, 'in-domain'), name, f'in-domain/{t}', t) for t in tasks]
    return plan


def pretrain_all(args: argparse.Namespace, out: Path) -> tuple[dict, dict]:
    """Pretrain what the plan needs (the backbone is written by ``BackboneExportHook``, or by
    the converter for a config without it); returns ``(backbones[variant][key], run
    records[variant][key])``."""
    backbones: dict[str, dict[str, Path]] = {}
    records: dict[str, dict[str, dict]] = {}
    for variant, name, key, in_domain in pretraining_plan(args):
        method = METHODS[name]
        config = method.pretrain[POOL if in_domain else key]
        work = out / 'pretrain' / name / ('' if key == POOL else key)
        options, iters = pretrain_options(config, POOL if in_domain else key, args.pretrain_iters,
                                          args.data_root, method.task_root, in_domain)
        print(f'[compare-pretraining] pretraining {variant} ({key}) -> {work}', flush=True)

        def export(w: Path, iters=iters, prefix=method.prefix) -> dict:
            hooked = w / 'backbone.pth'
            return {'backbone': str(hooked if hooked.is_file() and prefix is None
                                    else export_backbone(w, iters, prefix))}
        done = run_once(config, work, options, args.nice, args.reuse, export)
        backbones.setdefault(variant, {})[key] = Path(done['backbone'])
        records.setdefault(variant, {})[key] = done
    return backbones, records


def finetune_key(method: Method, variant: str, task: str) -> str | None:
    """The pretraining key whose backbone ``variant`` fine-tunes ``task`` from."""
    if variant.endswith('(in-domain)'):
        return f'in-domain/{task}'
    return method.pretrain_key(task)


def finish_finetune(config: Path, options: list[str], iters: int, metric: str,
                    holdout: bool, nice: int):
    """``run_once``'s ``finish`` of a fine-tuning run: the final metrics (held-out test split
    with ``holdout``, else the last validation), the value in the table (mAP in %), whether the
    run is stuck at one class and the validation curve."""
    scale = 100 if metric == DET_METRIC else 1

    def finish(work: Path) -> dict:
        curve = validation_curve(work, metric)
        if holdout:
            metrics = evaluate_held_out(config, work, options, iters, nice)
        else:
            metrics = final_metrics(work, (metric, 'aAcc', 'mAcc'))
        stuck = is_stuck(metrics) if metric == SEG_METRIC else False
        return {'value': metrics[metric] * scale, 'metrics': metrics, 'stuck': stuck,
                'split': 'test' if holdout else 'val',
                'curve': [[step, value * scale] for step, value in curve]}
    return finish


def finetune_all(args: argparse.Namespace, out: Path, backbones: dict) -> list[dict]:
    """Fine-tune every (seed, task, variant), seeds outer, one run after another."""
    variants = [(name, name) for name in args.methods]
    if 'in-domain' in args.pretrain_data:
        variants += [(name, variant_name(name, 'in-domain')) for name in args.methods
                     if POOL in METHODS[name].pretrain]
    if 'pool' not in args.pretrain_data:
        variants = [(n, v) for n, v in variants if POOL not in METHODS[n].pretrain or v != n]
    runs = []
    for seed in args.seeds:
        for task in args.tasks:
            metric = TASK_METRICS[task]
            iters = args.seg_iters if metric == SEG_METRIC else args.det_iters
            for name, variant in variants:
                method = METHODS[name]
                if task not in method.finetune:
                    continue
                config = method.finetune[task]
                key = finetune_key(method, variant, task)
                backbone = backbones[variant][key] if key else None
                work = out / task / variant.replace(' (in-domain)', '@in-domain') / f'seed{seed}'
                options = finetune_options(config, task, seed, iters, args.data_root, backbone,
                                           args.holdout, args.val_interval)
                print(f'[compare-pretraining] {task} {variant} seed {seed} -> {work}', flush=True)
                done = run_once(config, work, options, args.nice, args.reuse,
                                finish_finetune(config, options, iters, metric, args.holdout,
                                                args.nice))
                if 'stuck' not in done and metric == SEG_METRIC:  # a record from before flagging
                    done['stuck'] = is_stuck(done.get('metrics', {}))
                runs.append({'task': task, 'method': name, 'variant': variant, 'seed': seed,
                             'metric': metric, **done})
                print(f'[compare-pretraining]   {metric} {done["value"]:.2f} in '
                      f'{done["wall_time_s"] / 60:.1f} min'
                      + (' (STUCK at one class)' if done.get('stuck') else ''), flush=True)
    return runs


def plot_curves(runs: list[dict], out: Path) -> list[Path]:
    """``out/curves_<task>.png``: each run's validation curve (one colour per variant, one line
    per seed); nothing without matplotlib or without curves of more than one point."""
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    written = []
    for task in dict.fromkeys(run['task'] for run in runs):
        mine = [run for run in runs if run['task'] == task and len(run.get('curve') or []) > 1]
        if not mine:
            continue
        fig, ax = plt.subplots(figsize=(7, 4.5))
        colours = {v: f'C{i}' for i, v in enumerate(dict.fromkeys(r['variant'] for r in mine))}
        for run in mine:
            steps, values = zip(*run['curve'])
            ax.plot(steps, values, color=colours[run['variant']], alpha=0.8, marker='.',
                    label=run['variant'] if run['seed'] == min(
                        r['seed'] for r in mine if r['variant'] == run['variant']) else None)
        ax.set_xlabel('fine-tuning iteration')
        ax.set_ylabel(f'validation {"mIoU" if TASK_METRICS[task] == SEG_METRIC else "bbox mAP (%)"}')
        ax.set_title(f'{task}: validation curves (one line per seed)')
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = out / f'curves_{task}.png'
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    out = Path(args.work_dir).resolve()
    start = time.perf_counter()
    backbones, pretraining = pretrain_all(args, out)
    runs = finetune_all(args, out, backbones)
    rows = summarise(runs, pretraining)
    out.mkdir(parents=True, exist_ok=True)
    curves = plot_curves(runs, out)
    stuck = [f'{r["task"]} {r["variant"]} seed {r["seed"]}' for r in runs if r.get('stuck')]
    result = {'runs': runs, 'summary': rows, 'pretraining': pretraining, 'stuck_runs': stuck,
              'args': vars(args), 'total_wall_time_s': time.perf_counter() - start,
              'machine': machine()}
    (out / 'results.json').write_text(json.dumps(result, indent=2, default=str))
    print(format_table(rows, args.tasks))
    if stuck:
        print(f'{len(stuck)} of {len(runs)} runs stuck at one class (excluded from mean ± std): '
              + '; '.join(stuck))
    print(f'total {result["total_wall_time_s"] / 60:.1f} min; results in {out / "results.json"}'
          + ''.join(f'; {p}' for p in curves))


if __name__ == '__main__':
    main()
