"""The CPU micro-optimisations in ``cl_dense.ops``, each timed against the plain torch call it
replaces, side by side in one process, at the shapes where the package uses them.

A micro-optimisation stays in the package only while this script shows it winning; its docstring
quotes the ratio measured here. Cases:

* ``nonfinite``: ``cl_dense.ops.validation.nonfinite`` (one ``aminmax`` pass) vs
  ``~torch.isfinite(x).all()``, on a batch of projection-head embeddings ``[8, 256, 128, 256]``;
* ``stable_argsort``: ``cl_dense.ops.sorting.stable_argsort`` (int16 values when they fit) vs
  ``torch.sort(values, stable=True)`` on int64 group ids (262,144 values in ``[0, 160)``);
* ``softplus``: ``cl_dense.ops.contrast_cpu._softplus`` (``log`` with a first-order ``log1p``
  correction) vs ``F.softplus``, in the contrastiveseg positive pass (one class block
  ``[54, 10000]`` at the Cityscapes memory scale, and a wide ``[1024, 8192]``);
* ``row_sum``: ``x.sum(1)`` (what the package uses) vs ``x @ ones`` (a matrix-vector product it
  used before this script showed it slower), the same shapes.

Time: best of ``--repeats`` interleaved rounds after a warm-up (``benchmark_contrast.best_times``).
Prints a table and, with ``--json``, writes the numbers. Usage:
``python tools/analysis_tools/benchmark_micro_ops.py [--repeats 15] [--json out.json]``
"""
import os

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')  # see benchmark_contrast.py

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark_contrast import best_times  # noqa: E402

from cl_dense.ops.contrast_cpu import _softplus  # noqa: E402
from cl_dense.ops.sorting import stable_argsort  # noqa: E402
from cl_dense.ops.validation import nonfinite  # noqa: E402


SHAPES = dict(embeddings=(8, 256, 128, 256), groups=262_144, blocks=((54, 10_000), (1024, 8192)))
TINY_SHAPES = dict(embeddings=(2, 8, 4, 4), groups=100, blocks=((3, 50), (5, 7)))


def cases(gen: torch.Generator, shapes: dict = SHAPES
          ) -> dict[str, tuple[str, dict[str, Callable[[], object]]]]:
    """name: (package's choice, {variant: function}); the variants of a case compute the same
    thing (``TINY_SHAPES`` for tests)."""
    embeddings = torch.randn(*shapes['embeddings'], generator=gen)
    groups = torch.randint(0, 160, (shapes['groups'],), generator=gen)
    found = {
        'nonfinite ' + str(list(embeddings.shape)).replace(' ', ''): ('aminmax', {
            'aminmax': lambda: nonfinite(embeddings),
            'isfinite().all()': lambda: ~torch.isfinite(embeddings).all()}),
        f'stable_argsort {groups.numel()} in [0,160)': ('int16', {
            'int16': lambda: stable_argsort(groups, 159),
            'int64 torch.sort': lambda: torch.sort(groups, stable=True)[1]}),
    }
    for shape in shapes['blocks']:
        x = torch.randn(*shape, generator=gen) * 3
        label = f'[{shape[0]},{shape[1]}]'
        found[f'softplus {label}'] = ('_softplus', {
            '_softplus': lambda x=x: _softplus(x),
            'F.softplus': lambda x=x: F.softplus(x)})
        found[f'row_sum {label}'] = ('sum(1)', {
            'sum(1)': lambda x=x: x.sum(1),
            'x @ ones': lambda x=x: x @ x.new_ones(x.shape[1])})
    return found


def run(repeats: int, shapes: dict = SHAPES) -> list[dict]:
    """One row per case: both variants' best times and the package choice's speed-up."""
    rows = []
    for name, (chosen, fns) in cases(torch.Generator().manual_seed(0), shapes).items():
        for fn in fns.values():  # warm-up
            fn()
        times = best_times(fns, repeats)
        other = next(variant for variant in fns if variant != chosen)
        rows.append(dict(case=name, chosen=chosen, chosen_s=times[chosen], other=other,
                         other_s=times[other], speedup=times[other] / times[chosen]))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=15)
    parser.add_argument('--json', help='write the results to this file')
    args = parser.parse_args(argv)
    rows = run(args.repeats)
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, '
          f'load average {os.getloadavg()[0]:.1f}')
    print(f'{"case":<34} {"package uses":<12} {"time":>9} {"instead of":<18} {"time":>9} '
          f'{"speed-up":>8}')
    for row in rows:
        print(f'{row["case"]:<34} {row["chosen"]:<12} {row["chosen_s"] * 1e3:>7.2f}ms '
              f'{row["other"]:<18} {row["other_s"] * 1e3:>7.2f}ms {row["speedup"]:>7.2f}x')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(load_average=os.getloadavg()[0], rows=rows), f, indent=2)


if __name__ == '__main__':
    main()
