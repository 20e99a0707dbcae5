"""Draw learning curves of several mmengine runs from their ``vis_data/scalars.json``.

    python tools/analysis_tools/plot_curves.py RUN_DIR [RUN_DIR ...] --keys mIoU loss \
        --out curves.png [--labels a b ...] [--title TEXT]

RUN_DIR is a run's work dir (its newest ``<timestamp>/vis_data/scalars.json`` is read), a
timestamp dir, or a ``scalars.json`` file. One panel per key, one line per run, x = the logged
``step`` (the iteration for iteration-based runs; validation metrics are logged at the iteration
they were computed with ``log_metric_by_epoch=False``). A key missing from a run is an error that
names the run and the keys it has.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def find_scalars(run: str | Path) -> Path:
    """The ``scalars.json`` of a run dir, a timestamp dir or the file itself (newest timestamp)."""
    run = Path(run)
    if run.is_file():
        return run
    for pattern in ('vis_data/scalars.json', '*/vis_data/scalars.json'):
        found = sorted(run.glob(pattern))
        if found:
            return found[-1]
    raise FileNotFoundError(f'no vis_data/scalars.json under {run}')


def read_curves(scalars: Path, keys: list[str]) -> dict[str, tuple[list[float], list[float]]]:
    """``key -> (steps, values)`` for every key, in logged order.

    Raises:
        KeyError: a key never logged in ``scalars``, with the keys that were.
    """
    curves: dict[str, tuple[list[float], list[float]]] = {key: ([], []) for key in keys}
    seen: set[str] = set()
    for line in scalars.read_text().splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        seen.update(record)
        for key in keys:
            if key in record:
                curves[key][0].append(float(record.get('step', len(curves[key][0]))))
                curves[key][1].append(float(record[key]))
    missing = [key for key in keys if not curves[key][1]]
    if missing:
        raise KeyError(f'{scalars}: no {missing} logged; logged keys: '
                       f'{sorted(seen - {"step"})}')
    return curves


def plot(runs: list[str], keys: list[str], out: str, labels: list[str] | None = None,
         title: str | None = None) -> Path:
    """Write one PNG with a panel per key and a line per run; returns its path."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    if labels is not None and len(labels) != len(runs):
        raise ValueError(f'{len(labels)} labels for {len(runs)} runs')
    data = [read_curves(find_scalars(run), keys) for run in runs]
    names = labels or [Path(run).name for run in runs]
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 3.6), squeeze=False)
    for axis, key in zip(axes[0], keys):
        for name, curves in zip(names, data):
            steps, values = curves[key]
            axis.plot(steps, values, marker='o' if len(steps) < 30 else None, markersize=3,
                      label=name)
        axis.set_xlabel('iteration')
        axis.set_ylabel(key)
        axis.set_title(key)
        axis.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=110)
    plt.close(fig)
    return target


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('runs', nargs='+', help='run dirs, timestamp dirs or scalars.json files')
    parser.add_argument('--keys', nargs='+', required=True, help='logged keys, one panel each')
    parser.add_argument('--out', required=True, help='PNG file to write')
    parser.add_argument('--labels', nargs='+', help='legend names (default: the dir names)')
    parser.add_argument('--title')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    print(plot(args.runs, args.keys, args.out, args.labels, args.title))


if __name__ == '__main__':
    main()
