"""Benchmark DetCo on the CPU, side by side in one process, reporting ratios.

1. One training iteration (forward, backward, SGD step, momentum update, enqueue) of
   * ``detco``: DetCo, heads on res2..res5, global + local branches, the 9 jigsaw patches of the
     batch in one backbone forward;
   * ``global_only``: the MoCo v2 ablation (res5 only, no local branch) on the same backbone,
     batch and queues;
   * ``detco_looped``: DetCo with the patches encoded by 9 backbone calls (one per patch
     position), as a port without batching would do.
   Target: detco / global_only <= 1.6.
2. InfoNCE of ``N`` queries against a 65,536-key queue holding their keys, forward + backward:
   ``streaming`` (:func:`cl_dense.losses.info_nce`, the queue streamed in chunks, in place) vs
   ``dense`` (``[N, K]`` logits + cross-entropy, the same loss). Time and peak extra tensor memory
   (``cl_dense.ops.memory_probe``).

Time: best of ``--repeats`` rounds after a warm-up, the variants taking turns (see
benchmark_contrast.py, whose ``best_times`` this uses; OpenMP waits are passive by default).

Usage::

    python tools/analysis_tools/benchmark_detco.py [--depth 18] [--batch 8] [--size 224]
        [--patch 64] [--queue 65536] [--queries 256] [--repeats 3] [--json out.json]

The ImageNet setting of the paper is ``--depth 50 --batch 32`` (per process).
"""
import os

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')  # before torch loads OpenMP

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmark_contrast import best_times  # noqa: E402
from mmengine.optim import OptimWrapper  # noqa: E402
from mmengine.registry import MODELS  # noqa: E402

import cl_dense.selfsup  # noqa: E402,F401
from cl_dense.losses import info_nce  # noqa: E402
from cl_dense.ops.memory_probe import peak_extra_bytes  # noqa: E402
from cl_dense.selfsup.encoder import MultiLevelEncoder, unshuffle_patches  # noqa: E402

TEMPERATURE = 0.2
TARGET_RATIO = 1.6


def looped_local_embed(encoder: MultiLevelEncoder, patches: torch.Tensor,
                       perm: torch.Tensor) -> list:
    """``MultiLevelEncoder.local_embed`` with one backbone call per patch position (baseline),
    honouring the encoder's ``local_order`` (patches' shuffled order, or cell order)."""
    per_position = [encoder.level_features(patches[:, i]) for i in range(patches.shape[1])]
    embeds = []
    for level, head in enumerate(encoder.local_heads):
        pooled = torch.stack([feats[level].mean(dim=(2, 3)) for feats in per_position], dim=1)
        if encoder.local_order == 'cell':
            pooled = unshuffle_patches(pooled, perm)
        embeds.append(head(pooled.flatten(1)))
    return embeds


def build_model(depth: int, queue: int, full: bool, looped: bool = False) -> torch.nn.Module:
    """DetCo (``full``) or its MoCo v2 ablation on a plain ResNet of ``depth``."""
    backbone = dict(type='mmseg.ResNet', depth=depth, out_indices=(0, 1, 2, 3))
    cfg = dict(type='DetCo', backbone=backbone, queue_size=queue)
    if not full:
        cfg.update(levels=(3,), level_weights=(1.0,), local=False)
    model = MODELS.build(cfg)
    model.init_weights()
    if looped:
        for encoder in (model.query_encoder, model.key_encoder.module):
            encoder.local_embed = lambda p, q, enc=encoder: looped_local_embed(enc, p, q)
    return model


def fill_queues(model: torch.nn.Module) -> None:
    """Full queues of random unit keys, as after the first epoch."""
    for queue in model.queues.values():
        queue.push(F.normalize(torch.randn(queue.size, queue.dim), dim=1),
                   torch.zeros(queue.size, dtype=torch.long))


def make_batch(batch: int, size: int, patch: int, local: bool) -> dict:
    """A dataloader batch: uint8 views (and jigsaw sets with permutations)."""
    inputs = {'global': [torch.randint(0, 256, (2, 3, size, size), dtype=torch.uint8)
                         for _ in range(batch)]}
    if local:
        inputs['jigsaw'] = [torch.randint(0, 256, (2, 9, 3, patch, patch), dtype=torch.uint8)
                            for _ in range(batch)]
        inputs['jigsaw_perm'] = [torch.stack([torch.randperm(9), torch.randperm(9)])
                                 for _ in range(batch)]
    return {'inputs': inputs}


def bench_iteration(args) -> dict:
    """Seconds per training iteration of the three variants and their ratios."""
    variants = {'detco': (True, False), 'global_only': (False, False), 'detco_looped': (True, True)}
    steps = {}
    for name, (full, looped) in variants.items():
        torch.manual_seed(0)
        model = build_model(args.depth, args.queue, full, looped)
        fill_queues(model)
        wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.03, momentum=0.9))
        data = make_batch(args.batch, args.size, args.patch, local=full)
        steps[name] = lambda m=model, w=wrapper, d=data: m.train_step(d, w)
        steps[name]()  # warm-up
    times = best_times(steps, args.repeats)
    return dict(seconds=times, detco_vs_global_only=times['detco'] / times['global_only'],
                looped_vs_batched=times['detco_looped'] / times['detco'])


def dense_info_nce(query: torch.Tensor, keys: torch.Tensor, positives: torch.Tensor,
                   temperature: float) -> torch.Tensor:
    """The same loss as ``info_nce`` from ``[N, M]`` logits and cross-entropy."""
    return F.cross_entropy(query @ keys.T / temperature, positives)


def bench_loss(args) -> dict:
    """Time and peak memory of the streaming and dense InfoNCE, forward + backward, against a
    full queue holding the batch's keys (as DetCo calls it)."""
    torch.manual_seed(0)
    query = F.normalize(torch.randn(args.queries, 128), dim=1).requires_grad_()
    keys = F.normalize(torch.randn(args.queue, 128), dim=1)
    positives = torch.arange(args.queries) + args.queue // 2
    fns = {'streaming': lambda: info_nce(query, keys, positives, TEMPERATURE).backward(),
           'dense': lambda: dense_info_nce(query, keys, positives, TEMPERATURE).backward()}
    for fn in fns.values():
        fn()
    times = best_times(fns, args.repeats)
    memory = {name: peak_extra_bytes(fn) for name, fn in fns.items()}
    return dict(seconds=times, peak_bytes=memory,
                speedup_vs_dense=times['dense'] / times['streaming'],
                memory_vs_dense=memory['streaming'] / memory['dense'])


def main() -> None:
    parser = argparse.ArgumentParser(description='DetCo iteration and InfoNCE benchmark')
    parser.add_argument('--depth', type=int, default=18)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--patch', type=int, default=64)
    parser.add_argument('--queue', type=int, default=65536)
    parser.add_argument('--queries', type=int, default=256)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--skip-iteration', action='store_true')
    parser.add_argument('--json', help='write the results here')
    args = parser.parse_args()
    results = dict(args=vars(args), threads=torch.get_num_threads())
    results['loss'] = bench_loss(args)
    loss = results['loss']
    print(f"InfoNCE, {args.queries} queries vs {args.queue} queue keys (fwd+bwd): streaming "
          f"{loss['seconds']['streaming']:.3f} s, dense {loss['seconds']['dense']:.3f} s "
          f"({loss['speedup_vs_dense']:.2f}x); peak memory "
          f"{loss['peak_bytes']['streaming'] / 2**20:.1f} / {loss['peak_bytes']['dense'] / 2**20:.1f}"
          f" MB ({loss['memory_vs_dense']:.3f})")
    if not args.skip_iteration:
        results['iteration'] = it = bench_iteration(args)
        secs = it['seconds']
        print(f"iteration R-{args.depth}, batch {args.batch}, {args.size} px views, "
              f"{args.patch} px patches: detco {secs['detco']:.2f} s, global-only "
              f"{secs['global_only']:.2f} s, looped patches {secs['detco_looped']:.2f} s; "
              f"detco/global-only {it['detco_vs_global_only']:.2f}x (target <= {TARGET_RATIO}), "
              f"looped/batched {it['looped_vs_batched']:.2f}x")
    results['load_average_1min'] = os.getloadavg()[0]
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == '__main__':
    main()
