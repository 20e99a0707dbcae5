"""Fit ORE's energy-based unknown identifier (two Weibull models) for a trained checkpoint.

    python tools/analysis_tools/fit_ore_weibull.py CONFIG CHECKPOINT --protocol leakage_free
        [--rule threshold|density] [--ann-file HELD_OUT.json] [--out FIT.json] [--max-batches N] [--cfg-options k=v ...]

Runs the model on a held-out split (the config's val dataset, with ``--ann-file`` replacing its
annotation file), collects the known-class energies of the RoIs (with the bbox head's temperature)
and fits ``scipy.stats.weibull_min`` to the negated known and unknown ones
(:func:`cl_dense.det.energy_fit.fit_energy_model`). Protocols: ``paper`` (the split keeps its
unknown labels, ORE's protocol, label leakage) and ``leakage_free`` (the split is loaded with known
labels only; unknowns are the auto-labeller's picks). The fit is written next to the checkpoint
(``<checkpoint stem>_weibull.json``) unless ``--out`` says otherwise; switch EBUI on with
``--cfg-options model.roi_head.bbox_head.ebui.mode=on model.roi_head.bbox_head.ebui.weibull_file=FIT``.
"""
from __future__ import annotations

import argparse
import itertools
import os.path as osp

import cl_dense  # noqa: F401  (safe checkpoint loading)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--protocol', choices=['paper', 'leakage_free'], default='leakage_free')
    parser.add_argument('--rule', choices=['threshold', 'density'], default='threshold',
                        help="decision rule stored in the fit: one energy threshold (monotone) "
                             "or ORE's density comparison")
    parser.add_argument('--ann-file', help="held-out split's annotation file (val dataset's by default)")
    parser.add_argument('--out', help='output JSON (default: next to the checkpoint)')
    parser.add_argument('--max-batches', type=int, help='use only the first N batches')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='config overrides')
    return parser.parse_args(argv)


def held_out_loader_cfg(cfg, protocol: str, ann_file: str | None):
    """The val data loader config, labelled for ``protocol`` (open labels for the paper's,
    known-only labels for the leakage-free one) and pointing at ``ann_file`` when given."""
    loader = cfg.val_dataloader.copy()
    loader.dataset = loader.dataset.copy()
    loader.dataset.labels = 'open' if protocol == 'paper' else 'known'
    if ann_file:
        loader.dataset.ann_file = ann_file
    return loader


def main(argv: list[str] | None = None) -> str:
    """Fit and save; returns the path of the JSON written."""
    from mmengine.registry import MODELS, init_default_scope
    from mmengine.runner import Runner, load_checkpoint

    from cl_dense.det.energy import weibull_path_for
    from cl_dense.det.energy_fit import fit_energy_model
    from cl_dense.engine.launch import import_toolbox_plugins, load_config

    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    import_toolbox_plugins(cfg)
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    load_checkpoint(model, args.checkpoint, map_location='cpu')
    loader = Runner.build_dataloader(held_out_loader_cfg(cfg, args.protocol, args.ann_file))
    batches = itertools.islice(loader, args.max_batches) if args.max_batches else loader
    fit = fit_energy_model(model, batches, args.protocol, rule=args.rule)
    out = args.out or weibull_path_for(args.checkpoint)
    fit.save(out)
    print(f'Weibull fit ({args.protocol}, rule {fit.rule}, energy threshold {fit.threshold:.3f}, '
          f'T={fit.temperature}, {fit.num_known} known / {fit.num_unknown} unknown energies) written to {osp.abspath(out)}')
    return out


if __name__ == '__main__':
    main()
