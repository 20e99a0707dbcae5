"""Benchmark the memory-bank ops on the CPU: streaming contrast vs dense, and bank pushes.

Measures, in one process:

1. ``supervised_contrast`` forward + backward (contrastiveseg denominator, keys detached as in a
   memory bank) at three scales up to ContrastiveSeg's Cityscapes memory (A = 1024 anchors,
   19 classes x 10,000 keys, D = 256), against
   * ``dense``: the loss written the way the public code computes it, materialising ``[A, M]``
     logits, masks, exponentials and log-probabilities (in float32). It is leaner than the public
     code (no self-mask matrix, which memory mode must not apply anyway), so the speed and memory
     ratios against it are conservative;
   * ``matmul``: one ``[A, D] x [D, M]`` product, the floor of any exact method.
2. ``ClassMemoryBank.push`` of ContrastiveSeg's enqueue step (batch 8 of 128 x 256 embeddings,
   D = 256, 19 classes: the L2-normalised region mean of each (image, class) into the segment bank
   and 10 random pixels of each into the pixel bank) against a per-image, per-class Python loop.

Time: the best wall-clock time of ``--repeats`` runs after a warm-up run (the least disturbed by
other processes on a shared machine, as ``timeit`` reports), the compared functions taking turns
so that they see the same background load; the 1-minute load average is recorded.

Peak memory: the extra bytes held by tensors allocated during one forward + backward (inputs
excluded), from the profiler's allocation/free events replayed in order
(``cl_dense.ops.memory_probe``). This counts every torch allocation, including temporaries inside
ops, and nothing else (Python objects are negligible here). It is the CPU counterpart of
``torch.cuda.max_memory_allocated`` minus the memory held before the call.

OpenMP: unless ``OMP_WAIT_POLICY`` is set, the script sets it to ``PASSIVE`` before torch loads.
With GNU OpenMP's default (spin, then sleep) and other processes on the 2 cores, an idle worker
thread keeps spinning on the core its partner needs, and every parallel op pays for it: under a
load average of ~5 the streaming loss took 5.9 s with the default policy and 2.8 s with PASSIVE,
the single big matmul 1.5 s either way. Run ``OMP_WAIT_POLICY=ACTIVE python ...`` to compare.

Usage: ``python tools/analysis_tools/benchmark_contrast.py [--json out.json] [--repeats 3]``
"""
import os

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')  # before torch loads OpenMP (see above)

import argparse  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from typing import Callable  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from cl_dense.memory import ClassMemoryBank  # noqa: E402
from cl_dense.ops import region_means, sample_pixels_per_region, supervised_contrast  # noqa: E402
from cl_dense.ops.memory_probe import peak_extra_bytes  # noqa: E402

NUM_CLASSES = 19
DIM = 256
TEMPERATURE = 0.07
IGNORE = 255
SCALES = {  # name: (anchors, keys per class)
    'small': (256, 1000),
    'medium': (512, 5000),
    'cityscapes': (1024, 10000),
}
TARGETS = {'speedup_vs_dense': 3.0, 'time_vs_matmul': 4.0, 'memory_vs_dense': 1 / 20,
           'push_speedup_vs_loop': 10.0}


def dense_contrast(anchors: torch.Tensor, anchor_labels: torch.Tensor, keys: torch.Tensor,
                   key_labels: torch.Tensor, temperature: float) -> torch.Tensor:
    """ContrastiveSeg's loss computed densely: every intermediate is an ``[A, M]`` matrix."""
    positive = (anchor_labels[:, None] == key_labels[None, :]).float()
    negative = 1 - positive
    logits = anchors @ keys.T / temperature
    logits = logits - logits.max(1, keepdim=True).values.detach()
    exp_logits = torch.exp(logits)
    neg_sum = (exp_logits * negative).sum(1, keepdim=True)
    log_prob = logits - torch.log(exp_logits + neg_sum)
    mean_log_prob_pos = (positive * log_prob).sum(1) / positive.sum(1)
    return -mean_log_prob_pos.mean()


def best_times(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Best seconds of each function over ``repeats`` rounds; a round runs every function once,
    in turn, so that all of them see the same background load. Warm them up before."""
    times = {name: float('inf') for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name] = min(times[name], time.perf_counter() - start)
    return times


def contrast_inputs(num_anchors: int, per_class: int) -> tuple:
    """Normalised anchors (requiring grad) and a full class-major bank of keys."""
    gen = torch.Generator().manual_seed(0)
    anchors = F.normalize(torch.randn(num_anchors, DIM, generator=gen), dim=1).requires_grad_()
    anchor_labels = torch.randint(0, NUM_CLASSES, (num_anchors,), generator=gen)
    bank = ClassMemoryBank(NUM_CLASSES, per_class, DIM)
    bank.push(F.normalize(torch.randn(NUM_CLASSES * per_class, DIM, generator=gen), dim=1),
              torch.arange(NUM_CLASSES).repeat_interleave(per_class))
    keys, key_labels = bank.keys()
    return anchors, anchor_labels, keys, key_labels


def bench_contrast(name: str, repeats: int) -> dict:
    num_anchors, per_class = SCALES[name]
    anchors, anchor_labels, keys, key_labels = contrast_inputs(num_anchors, per_class)

    def streaming() -> torch.Tensor:
        loss = supervised_contrast(anchors, anchor_labels, keys, key_labels, TEMPERATURE)
        loss.backward()
        return loss

    def dense() -> torch.Tensor:
        loss = dense_contrast(anchors, anchor_labels, keys, key_labels, TEMPERATURE)
        loss.backward()
        return loss

    def matmul() -> torch.Tensor:
        return anchors.detach() @ keys.T

    check = (streaming().item(), dense().item(), matmul())  # also the warm-up
    if abs(check[0] - check[1]) > 1e-4 * abs(check[1]):
        raise RuntimeError(f'streaming and dense losses differ at {name}: {check[:2]}')
    times = best_times(dict(streaming=streaming, dense=dense, matmul=matmul), repeats)
    row = dict(scale=name, anchors=num_anchors, keys=keys.shape[0], dim=DIM,
               streaming_s=times['streaming'], dense_s=times['dense'], matmul_s=times['matmul'],
               streaming_peak_mb=peak_extra_bytes(streaming) / 2 ** 20,
               dense_peak_mb=peak_extra_bytes(dense) / 2 ** 20)
    row['speedup_vs_dense'] = row['dense_s'] / row['streaming_s']
    row['time_vs_matmul'] = row['streaming_s'] / row['matmul_s']
    row['memory_vs_dense'] = row['streaming_peak_mb'] / row['dense_peak_mb']
    return row


def push_inputs(batch: int = 8, height: int = 128, width: int = 256) -> tuple:
    """Embeddings ``[B, D, H, W]`` and blocky labels (8 x 16 cells) with ~5 % ignored cells."""
    gen = torch.Generator().manual_seed(1)
    embeddings = F.normalize(torch.randn(batch, DIM, height, width, generator=gen), dim=1)
    cells = torch.randint(0, NUM_CLASSES, (batch, 1, 8, 16), generator=gen)
    cells[torch.rand(cells.shape, generator=gen) < 0.05] = IGNORE
    labels = F.interpolate(cells.float(), size=(height, width), mode='nearest')
    return embeddings, labels[:, 0].long()


def push_vectorised(segments: ClassMemoryBank, pixels: ClassMemoryBank, embeddings: torch.Tensor,
                    labels: torch.Tensor, per_region: int, generator: torch.Generator) -> None:
    """The enqueue step with the package's vectorised helpers and ring push."""
    means, mean_labels, _ = region_means(embeddings, labels, NUM_CLASSES, IGNORE)
    segments.push(means, mean_labels)
    feats, pixel_labels, _ = sample_pixels_per_region(embeddings, labels, per_region, NUM_CLASSES,
                                                      IGNORE, generator)
    pixels.push(F.normalize(feats, dim=1), pixel_labels)


def push_loop(segments: ClassMemoryBank, pixels: ClassMemoryBank, embeddings: torch.Tensor,
              labels: torch.Tensor, per_region: int, generator: torch.Generator) -> None:
    """The same enqueue step as a per-image, per-class Python loop (correct ring semantics)."""
    for b in range(embeddings.shape[0]):
        feats = embeddings[b].reshape(DIM, -1)
        flat = labels[b].reshape(-1)
        for c in torch.unique(flat).tolist():
            if c == IGNORE:
                continue
            index = (flat == c).nonzero().squeeze(1)
            mean = F.normalize(feats[:, index].mean(1), dim=0)
            segments.feats[c, segments.ptr[c]] = mean
            segments.ptr[c] = (segments.ptr[c] + 1) % segments.size
            segments.count[c] = min(int(segments.count[c]) + 1, segments.size)
            chosen = index[torch.randperm(index.numel(), generator=generator)[:per_region]]
            slots = (pixels.ptr[c] + torch.arange(chosen.numel())) % pixels.size
            pixels.feats[c, slots] = F.normalize(feats[:, chosen].T, dim=1)
            pixels.ptr[c] = (pixels.ptr[c] + chosen.numel()) % pixels.size
            pixels.count[c] = min(int(pixels.count[c]) + chosen.numel(), pixels.size)


def bench_push(repeats: int) -> dict:
    embeddings, labels = push_inputs()
    steps = {}
    for name, step in (('vectorised', push_vectorised), ('loop', push_loop)):
        banks = [ClassMemoryBank(NUM_CLASSES, 5000, DIM) for _ in range(2)]
        generator = torch.Generator().manual_seed(0)
        steps[name] = functools.partial(step, *banks, embeddings, labels, 10, generator)
        steps[name]()  # warm-up
    results = best_times(steps, repeats)
    return dict(batch=tuple(embeddings.shape), vectorised_s=results['vectorised'],
                loop_s=results['loop'],
                push_speedup_vs_loop=results['loop'] / results['vectorised'])


def verdict(name: str, value: float) -> str:
    target = TARGETS[name]
    ok = value <= target if name in ('time_vs_matmul', 'memory_vs_dense') else value >= target
    return 'PASS' if ok else 'FAIL'


def print_table(rows: list[dict], push: dict) -> None:
    header = (f"{'scale':<11}{'A':>6}{'M':>8} | {'stream s':>9}{'dense s':>9}{'matmul s':>9} | "
              f"{'x dense':>8}{'x matmul':>9} | {'stream MB':>10}{'dense MB':>10}{'ratio':>8}")
    print(header)
    print('-' * len(header))
    for r in rows:
        print(f"{r['scale']:<11}{r['anchors']:>6}{r['keys']:>8} | {r['streaming_s']:>9.3f}"
              f"{r['dense_s']:>9.3f}{r['matmul_s']:>9.3f} | {r['speedup_vs_dense']:>7.2f}x"
              f"{r['time_vs_matmul']:>8.2f}x | {r['streaming_peak_mb']:>10.1f}"
              f"{r['dense_peak_mb']:>10.1f}{r['memory_vs_dense']:>8.4f}")
    full = rows[-1]
    print(f"\ntargets at {full['scale']}: speedup vs dense {full['speedup_vs_dense']:.2f}x >= 3 "
          f"{verdict('speedup_vs_dense', full['speedup_vs_dense'])}; time vs matmul "
          f"{full['time_vs_matmul']:.2f}x <= 4 "
          f"{verdict('time_vs_matmul', full['time_vs_matmul'])}; "
          f"peak memory vs dense {full['memory_vs_dense']:.4f} <= 0.05 "
          f"{verdict('memory_vs_dense', full['memory_vs_dense'])}")
    print(f"push {push['batch']}: vectorised {push['vectorised_s'] * 1e3:.1f} ms, loop "
          f"{push['loop_s'] * 1e3:.1f} ms, {push['push_speedup_vs_loop']:.1f}x >= 10 "
          f"{verdict('push_speedup_vs_loop', push['push_speedup_vs_loop'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--json', help='also write the results to this JSON file')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--scales', nargs='+', default=list(SCALES), choices=list(SCALES))
    args = parser.parse_args()
    rows = [bench_contrast(name, args.repeats) for name in args.scales]
    push = bench_push(args.repeats)
    print_table(rows, push)
    print(f'1-minute load average at the end: {os.getloadavg()[0]:.2f} '
          f'({os.cpu_count()} CPUs; above ~0.5 other processes disturb the timings)')
    result = dict(threads=torch.get_num_threads(), torch=torch.__version__,
                  load_average_1min=os.getloadavg()[0],
                  omp_wait_policy=os.environ['OMP_WAIT_POLICY'], contrast=rows, push=push,
                  targets=TARGETS)
    print(json.dumps(result))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)


if __name__ == '__main__':
    main()
