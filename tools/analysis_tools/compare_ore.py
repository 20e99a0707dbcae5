"""ORE against a plain Faster R-CNN on the real open-world splits, same detector and schedule.

    python tools/analysis_tools/compare_ore.py [--datasets chess] [--seeds 0 1] [--iters 500]
        [--batch-size 2] [--proposals 300] [--rois 128] [--variants ...] [--no-t2]
        [--work-dir DIR] [--nice 10] [--diag-batches N] [--cfg-options k=v ...]

Per dataset and seed, one after the other (never beside each other):

- trainings (``tools/train.py`` in a subprocess, the checkout's code): ``Faster R-CNN`` (plain;
  validated 5 times to show whether known mAP has plateaued), ``ORE``, ``ORE + objectness``
  (OLN-style RPN) and the ``positive control`` (the plain detector trained with the unknown
  objects annotated as "unknown", their boxes regressed like any class's: the ceiling of this
  detector and schedule). Each validates at
  the end with ``OpenWorldMetric``; the plain and ORE rows are "- EBUI";
- EBUI rows: the identifier fitted on the held-out test split for the plain detector
  (``Faster R-CNN + EBUI``, leakage-free: what ORE's training adds), for ORE (leakage-free and
  the paper's fit) and for ORE + objectness (leakage-free), each evaluated on the validation split;
- diagnostics of every trained detector: proposal recall on unknown objects (validation split,
  test proposal count) and the auto-labeller's hits on real unknown objects (training images,
  their hidden annotations);
- chess: the T2 step from the ORE T1 model (rooks, queens, kings introduced, then exemplar
  fine-tuning): known mAP of the previous and current classes.

Every step writes ``DIR/<dataset>/seed<k>/<step>/result.json``; a rerun skips finished steps and
resumes an interrupted T1 training from its last checkpoint (every fifth of the run). Evaluations
use a test score threshold of 0.001 so that ``U_Recall@0.001`` means something; the table's
U-Recall is at 0.05 (ORE's). Prints the tables (means over seeds) and writes
``DIR/results.json``.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / 'configs' / 'ore'
DATASETS = {
    'chess': dict(suffix='chess-t1-512x343', held_out=dict(ann_file='test/annotations.coco.json',
                                                           img='test/'),
                  t2='ore_faster-rcnn_r18-fpn-narrow_1xb4-300it_chess-t2-512x343.py',
                  t2_ft='ore_faster-rcnn_r18-fpn-narrow_1xb4-100it_chess-t2-ft-512x343.py'),
    'bccd': dict(suffix='bccd-t1-320x240', held_out=dict(ann_file='coco_derived/bccd_test.json',
                                                         img='BCCD/JPEGImages/')),
}
# trained T1 variants: name -> (config prefix, label, extra options, ORE clustering schedule)
TRAINED = {
    'plain': ('faster-rcnn', 'Faster R-CNN', [], False),
    'ore': ('ore_faster-rcnn', 'ORE', [], True),
    'ore_objectness': ('ore-objectness_faster-rcnn', 'ORE + objectness', [], True),
    'positive_control': ('faster-rcnn', 'positive control (unknowns annotated)',
                         ['train_dataloader.dataset.labels=open',
                          'model.roi_head.bbox_head.regress_unknown=True'], False),
}
# EBUI rows: name -> (trained variant, fit protocol, label)
EBUI = {
    'plain_ebui': ('plain', 'leakage_free', 'Faster R-CNN + EBUI'),
    'ore_ebui': ('ore', 'leakage_free', 'ORE + EBUI (leakage-free fit)'),
    'ore_ebui_paper': ('ore', 'paper', 'ORE + EBUI (paper fit)'),
    'ore_objectness_ebui': ('ore_objectness', 'leakage_free', 'ORE + objectness + EBUI (leakage-free fit)'),
}
ROW_LABELS = {'plain': 'Faster R-CNN', 'ore': 'ORE - EBUI', 'ore_objectness': 'ORE + objectness',
              'positive_control': 'positive control (unknowns annotated)',
              **{name: spec[2] for name, spec in EBUI.items()}}
TEST_SCORE_THR = 0.001


def _sibling(name: str):
    """Import another script of this folder (the pixel-contrast comparison's run helpers)."""
    spec = importlib.util.spec_from_file_location(f'cl_dense_{name}', Path(__file__).with_name(f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--datasets', nargs='+', choices=sorted(DATASETS), default=['chess'])
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1])
    parser.add_argument('--iters', type=int, default=500, help='T1 and T2 training iterations')
    parser.add_argument('--ft-iters', type=int, help='T2 exemplar fine-tuning iterations '
                        '(default: iters // 5)')
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--proposals', type=int, default=300,
                        help='RPN proposals per image in training and at test time')
    parser.add_argument('--rois', type=int, default=128, help='sampled RoIs per image')
    parser.add_argument('--variants', nargs='+', choices=[*TRAINED, *EBUI],
                        default=[*TRAINED, *EBUI])
    parser.add_argument('--no-t2', action='store_true', help='skip the T2 step')
    parser.add_argument('--work-dir', default=str(ROOT / 'work_dirs' / 'compare_ore'))
    parser.add_argument('--nice', type=int, default=10, help='niceness of the training processes')
    parser.add_argument('--diag-batches', type=int, help='limit the diagnostics to N batches')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='extra key=value overrides passed to every training and evaluation')
    return parser.parse_args(argv)


def schedule_options(seed: int, iters: int, val_every: int | None = None) -> list[str]:
    """``--cfg-options`` of a training of ``iters`` iterations: the seed, warm-up kept, the lr step
    at 5/6 of the run, a checkpoint every fifth of it, validation every ``val_every`` (default:
    once at the end)."""
    fifth = max(1, iters // 5)
    return [f'randomness.seed={seed}', f'train_cfg.max_iters={iters}',
            f'train_cfg.val_interval={val_every or iters}', f'param_scheduler.1.end={iters}',
            f'param_scheduler.1.milestones=[{max(1, iters * 5 // 6)}]',
            f'default_hooks.checkpoint.interval={fifth}']


def clustering_schedule(iters: int) -> dict[str, int]:
    """ORE's prototype schedule for a run of ``iters`` iterations, as the CPU configs scale it:
    prototypes from 10 % of the run, updated every 2 % of it."""
    return dict(start_iter=max(1, iters // 10), update_mu_iter=max(1, iters // 50))


def size_options(batch_size: int, proposals: int, rois: int) -> list[str]:
    """Batch size, proposals per image (training and test), sampled RoIs, test score threshold."""
    return [f'train_dataloader.batch_size={batch_size}',
            f'model.train_cfg.rpn_proposal.max_per_img={proposals}',
            f'model.test_cfg.rpn.max_per_img={proposals}', f'model.train_cfg.rcnn.sampler.num={rois}',
            f'model.test_cfg.rcnn.score_thr={TEST_SCORE_THR}']


def variant_options(name: str, seed: int, iters: int) -> list[str]:
    """The variant's own ``--cfg-options`` (schedule, clustering schedule, labels)."""
    _, _, extra, clustered = TRAINED[name]
    options = schedule_options(seed, iters, max(1, iters // 5) if name == 'plain' else None)
    if clustered:
        options += [f'model.roi_head.bbox_head.clustering.{k}={v}'
                    for k, v in clustering_schedule(iters).items()]
    return options + list(extra)


def final_ow_metrics(work_dir: Path) -> tuple[dict[str, float], list[float]]:
    """The last ``ow/*`` validation metrics in ``work_dir/<timestamp>/vis_data/scalars.json``
    and the known mAP of every validation, in order (the curve; mmengine logs no iteration
    with them: validation k is at k * val_interval).

    Raises:
        FileNotFoundError: the run logged no open-world validation metrics.
    """
    found: dict[str, float] = {}
    curve = []
    for log in sorted(work_dir.glob('*/vis_data/scalars.json')):
        for line in log.read_text().splitlines():
            record = json.loads(line)
            if 'ow/U_Recall' in record:
                found = {k[3:]: float(v) for k, v in record.items() if k.startswith('ow/')}
                curve.append(found.get('known_mAP'))
    if not found:
        raise FileNotFoundError(f'no open-world validation metrics (ow/U_Recall) in '
                                f'{work_dir}/*/vis_data/scalars.json')
    return found, curve


def latest_checkpoint(work_dir: Path) -> Path | None:
    checkpoints = list(work_dir.glob('iter_*.pth'))
    return max(checkpoints, key=lambda p: int(p.stem.split('_')[1])) if checkpoints else None


def build_cfg(config: Path, cfg_options: list[str]):
    """The config with ``key=value`` overrides, its plugins imported."""
    from mmengine.config import DictAction

    from cl_dense.engine.launch import import_toolbox_plugins, load_config

    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    options = parser.parse_args(['--cfg-options', *cfg_options]).cfg_options if cfg_options else None
    cfg = load_config(str(config), options)
    import_toolbox_plugins(cfg)
    return cfg


def evaluate(config: Path, checkpoint: Path, work_dir: Path, cfg_options: list[str]) -> dict:
    """``Runner.test`` of ``checkpoint`` on the config's test (= validation) split."""
    from mmengine.runner import Runner

    cfg = build_cfg(config, cfg_options)
    cfg.work_dir, cfg.load_from = str(work_dir), str(checkpoint)
    cfg.experiment_name = f'{work_dir.name}_{time.time_ns()}'
    metrics = Runner.from_cfg(cfg).test()
    return {k[3:]: float(v) for k, v in metrics.items() if k.startswith('ow/')}


def diagnose(config: Path, checkpoint: Path, cfg_options: list[str],
             max_batches: int | None) -> dict:
    """Proposal recall on unknown objects (validation split) and pseudo-label hits on real
    unknown objects (training images loaded with open labels and the test pipeline)."""
    import itertools

    from mmengine.registry import MODELS, init_default_scope
    from mmengine.runner import Runner, load_checkpoint

    from cl_dense.det.diagnostics import pseudo_label_hits, unknown_proposal_recall

    cfg = build_cfg(config, cfg_options)
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    load_checkpoint(model, str(checkpoint), map_location='cpu', logger='silent')
    val = Runner.build_dataloader(cfg.val_dataloader)
    train_images = cfg.val_dataloader.copy()
    train_images.dataset = dict(cfg.val_dataloader.dataset, labels='open',
                                ann_file=cfg.train_dataloader.dataset.ann_file,
                                data_prefix=cfg.train_dataloader.dataset.data_prefix)
    train = Runner.build_dataloader(train_images)

    def limit(loader):
        return itertools.islice(loader, max_batches) if max_batches else loader

    num_unknown = getattr(model.roi_head, 'num_unknown', 0) or 1
    return dict(proposal_recall=unknown_proposal_recall(model, limit(val)),
                pseudo_labels=pseudo_label_hits(model, limit(train), num_unknown))


class Steps:
    """Runs the steps of one (dataset, seed), skipping those whose ``result.json`` exists."""

    def __init__(self, out_dir: Path, args: argparse.Namespace) -> None:
        self.out_dir, self.args = out_dir, args
        self.runs = _sibling('compare_pixel_contrast')
        self.fit_tool = _sibling('fit_ore_weibull')
        self.common = size_options(args.batch_size, args.proposals, args.rois) + list(args.cfg_options)

    def cached(self, step: str, compute, tolerate: tuple = ()) -> dict | None:
        """``compute(work_dir)``'s result, saved; an exception of a type in ``tolerate`` is
        reported and gives ``None`` (nothing saved: a rerun tries again)."""
        path = self.out_dir / step / 'result.json'
        if path.is_file():
            print(f'[compare_ore] {path.parent} done, skipped', flush=True)
            return json.loads(path.read_text())
        print(f'[compare_ore] {path.parent}', flush=True)
        begin = time.perf_counter()
        try:
            result = compute(path.parent)
        except tolerate as error:
            print(f'[compare_ore] {path.parent} FAILED: {error}', flush=True)
            return None
        result['wall_time_s'] = result.get('wall_time_s', time.perf_counter() - begin)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2))
        return result

    def train(self, config: Path, work_dir: Path, options: list[str], resume: bool = True) -> dict:
        """Train (resuming from the work dir's last checkpoint when there is one)."""
        options = self.common + options
        if resume and latest_checkpoint(work_dir) is not None:
            options = options + ['--resume']
        seconds = self.runs.train_one(config, work_dir, options, self.args.nice)
        metrics, curve = final_ow_metrics(work_dir)
        return dict(config=str(config.relative_to(ROOT)), options=options, metrics=metrics,
                    known_mAP_curve=curve, checkpoint=str(latest_checkpoint(work_dir)),
                    wall_time_s=seconds)

    def trained(self, name: str, suffix: str, seed: int) -> dict:
        config = CONFIG_DIR / f'{TRAINED[name][0]}_r18-fpn-narrow_1xb4-300it_{suffix}.py'

        def compute(work_dir: Path) -> dict:
            result = self.train(config, work_dir, variant_options(name, seed, self.args.iters))
            result['diagnostics'] = diagnose(config, Path(result['checkpoint']), self.common,
                                             self.args.diag_batches)
            return result
        return self.cached(name, compute)

    def ebui(self, name: str, base: dict, held_out: dict) -> dict | None:
        """Fit and evaluate; a fit without enough energies (an untrained detector) is reported
        and skipped instead of stopping the whole comparison."""
        _, protocol, _ = EBUI[name]
        config, checkpoint = ROOT / base['config'], Path(base['checkpoint'])

        def compute(work_dir: Path) -> dict:
            work_dir.mkdir(parents=True, exist_ok=True)
            fit = self.fit_tool.main([str(config), str(checkpoint), '--protocol', protocol,
                                      '--ann-file', held_out['ann_file'],
                                      '--out', str(work_dir / 'weibull.json'), '--cfg-options',
                                      *self.common,
                                      f"val_dataloader.dataset.data_prefix.img={held_out['img']}"])
            metrics = evaluate(config, checkpoint, work_dir, self.common + [
                'model.roi_head.bbox_head.ebui.mode=on',
                f'model.roi_head.bbox_head.ebui.weibull_file={fit}'])
            return dict(fit=json.loads(Path(fit).read_text()), metrics=metrics,
                        diagnostics=base.get('diagnostics'))
        return self.cached(name, compute, tolerate=(ValueError,))

    def t2(self, spec: dict, t1: dict, seed: int) -> dict[str, dict]:
        """T2 training from the ORE T1 model, then exemplar fine-tuning."""
        iters = self.args.iters
        ft_iters = self.args.ft_iters or max(1, iters // 5)
        out = {}
        load_from = t1['checkpoint']
        for step, config, n in (('t2', spec['t2'], iters), ('t2_ft', spec['t2_ft'], ft_iters)):
            options = schedule_options(seed, n) + [f'load_from={load_from}'] + [
                f'model.roi_head.bbox_head.clustering.{k}={v}'
                for k, v in clustering_schedule(n).items()]
            if step == 't2_ft':  # the fine-tuning config has a constant lr: no step schedule
                options = [o for o in options if not o.startswith('param_scheduler.1')] + [
                    f'param_scheduler.0.end={n}']
            out[step] = self.cached(step, lambda work_dir, c=config, o=options: self.train(
                CONFIG_DIR / c, work_dir, o, resume=False))
            load_from = out[step]['checkpoint']
        return out


def mean_metrics(results: list[dict]) -> dict[str, float]:
    """Per key, the mean over the seeds' results (keys present in all of them)."""
    keys = set.intersection(*(set(r) for r in results))
    return {k: statistics.fmean(r[k] for r in results) for k in keys}


def summary_row(label: str, entries: list[dict]) -> dict:
    """Means over seeds of the metrics, diagnostics and wall time of one variant."""
    metrics = mean_metrics([e['metrics'] for e in entries])
    diags = [e.get('diagnostics') for e in entries if e.get('diagnostics')]
    if diags:
        metrics['proposal_recall'] = statistics.fmean(d['proposal_recall']['recall'] for d in diags)
        metrics['pseudo_hit_rate'] = statistics.fmean(d['pseudo_labels']['hit_rate'] for d in diags)
    spread = {}
    if len(entries) > 1:
        spread = {k: statistics.stdev(e['metrics'][k] for e in entries)
                  for k in ('known_mAP', 'U_Recall@0.05') if all(k in e['metrics'] for e in entries)}
    return dict(variant=label, seeds=len(entries), metrics=metrics, stdev=spread,
                wall_time_s=statistics.fmean(e['wall_time_s'] for e in entries))


def format_table(rows: list[dict]) -> str:
    """Markdown table of the T1 variants (means over seeds; +- the seeds' stdev)."""
    def cell(row, key, fmt='{:.2f}'):
        value = row['metrics'].get(key)
        if value is None:
            return '-'
        text = fmt.format(value)
        return f"{text} ± {row['stdev'][key]:.2f}" if key in row['stdev'] else text

    lines = ['| variant | seeds | known mAP | U-Recall | U-Recall@0.001 | U-Recall (any label) | WI | '
             'A-OSE | proposal recall (unknown) | pseudo-label hits | time |',
             '|---|---|---|---|---|---|---|---|---|---|---|']
    for row in rows:
        lines.append(
            f"| {row['variant']} | {row['seeds']} | {cell(row, 'known_mAP')} | "
            f"{cell(row, 'U_Recall@0.05')} | {cell(row, 'U_Recall@0.001')} | "
            f"{cell(row, 'U_Recall_any')} | {cell(row, 'WI', '{:.4f}')} | {cell(row, 'A_OSE', '{:.0f}')} | "
            f"{cell(row, 'proposal_recall')} | {cell(row, 'pseudo_hit_rate')} | "
            f"{row['wall_time_s'] / 60:.1f} min |")
    return '\n'.join(lines)


def format_t2_table(rows: list[dict]) -> str:
    lines = ['| step | seeds | previous classes mAP | current classes mAP | known mAP | time |',
             '|---|---|---|---|---|---|']
    for row in rows:
        m = row['metrics']
        lines.append(f"| {row['variant']} | {row['seeds']} | {m.get('prev_mAP', float('nan')):.2f} | "
                     f"{m.get('current_mAP', float('nan')):.2f} | {m['known_mAP']:.2f} | "
                     f"{row['wall_time_s'] / 60:.1f} min |")
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    out_dir = Path(args.work_dir).resolve()
    start = time.perf_counter()
    per_dataset = {}
    for dataset in args.datasets:
        spec = DATASETS[dataset]
        by_variant: dict[str, list] = {}
        for seed in args.seeds:
            steps = Steps(out_dir / dataset / f'seed{seed}', args)
            trained = {}
            for name in TRAINED:
                needed = name in args.variants or any(
                    EBUI[e][0] == name for e in args.variants if e in EBUI)
                if needed or (name == 'ore' and not args.no_t2 and 't2' in spec):
                    trained[name] = steps.trained(name, spec['suffix'], seed)
                    if name in args.variants:
                        by_variant.setdefault(name, []).append(trained[name])
            for name in (e for e in EBUI if e in args.variants):
                result = steps.ebui(name, trained[EBUI[name][0]], spec['held_out'])
                if result is not None:
                    by_variant.setdefault(name, []).append(result)
            if not args.no_t2 and 't2' in spec:
                for step, result in steps.t2(spec, trained['ore'], seed).items():
                    by_variant.setdefault(step, []).append(result)
        order = [*TRAINED, *EBUI]
        rows = [summary_row(ROW_LABELS[n], by_variant[n]) for n in order if n in by_variant]
        t2_rows = [summary_row(label, by_variant[n]) for n, label in
                   (('t2', 'T2 (rooks, queens, kings introduced)'),
                    ('t2_ft', 'T2 + exemplar fine-tuning')) if n in by_variant]
        per_dataset[dataset] = dict(rows=rows, t2_rows=t2_rows, runs=by_variant)
        print(f'\n{dataset} (validation split; means over seeds {args.seeds}):')
        print(format_table(rows))
        if t2_rows:
            print(format_t2_table(t2_rows))
    runs = _sibling('compare_pixel_contrast')
    result = dict(datasets=per_dataset, total_wall_time_s=time.perf_counter() - start,
                  machine=runs.machine(), args=vars(args))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / 'results.json').write_text(json.dumps(result, indent=2))
    print(f'total wall time {result["total_wall_time_s"] / 60:.1f} min (skipped steps count 0); '
          f'results in {out_dir / "results.json"}')
    return result


if __name__ == '__main__':
    main()
