"""One-command check of cl_dense's GPU code paths: correctness against the references, then timings.

    PYTHONPATH=. python tools/analysis_tools/gpu_check.py [--json out.json] [--quick]

Needs torch and triton only (no OpenMMLab). Without CUDA it says so and exits 0. On a CUDA machine:

1. **Checks** (each op's CUDA path against the float64 reference of ``cl_dense.ops.reference`` on
   the CPU): ``supervised_contrast`` (Triton kernels for float32/float16/bfloat16, the chunked
   torch code for float64) for both denominators, with and without self-contrast, keys with and
   without a gradient, and the edge cases (no anchor with a positive, every key ignored, one
   class, similarities beyond the bounded-exponential range, anchors of one class spread over
   several kernel blocks): loss, anchors' and keys' gradients; ``class_ring_push`` (Triton
   scatter) bit for bit against the row-by-row reference, including overflow within one push;
   ``region_means`` and ``sample_pixels_per_region`` against their references / invariants;
   ``ClassMemoryBank`` keys after pushes.
2. **Timings** (forward + backward, keys detached as in a memory bank, D = 256, best of
   ``--repeats``, CUDA-synchronised): streaming ``supervised_contrast`` against the dense
   public-code-style loss (``benchmark_contrast.dense_contrast``) and against 3 cuBLAS matmuls of
   the same shapes (``S = A K^T``, ``S K`` and ``S^T A``: the floor of any exact forward + backward),
   with peak memory, at the Cityscapes memory scale (1024 anchors x 19 x 10,000 keys) and at 8x
   its similarity entries (2048 anchors x 19 x 40,000 keys); ``class_ring_push`` (Triton scatter)
   against torch indexing.

3. **mmcv._ext replacement** (``gpu_check_mmcv_ext.py``, when torchvision is installed): the
   torchvision/torch-backed RoIAlign, NMS, focal loss, deformable attention and DCN on the device
   against the CPU.

Prints a table and one JSON line (also written with ``--json``). ``--quick`` runs small shapes
only (used by the tests, and on the CPU with ``--device cpu`` to exercise the script itself).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Callable, Optional

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark_contrast import dense_contrast  # noqa: E402

from cl_dense.memory import ClassMemoryBank  # noqa: E402
from cl_dense.ops import class_ring_push, region_means, sample_pixels_per_region  # noqa: E402
from cl_dense.ops import supervised_contrast  # noqa: E402
from cl_dense.ops.reference import (class_ring_push_reference, region_means_reference,  # noqa: E402
                                    supervised_contrast_reference)

IGNORE = 255
DIM = 256
# relative error allowed against the float64 reference (inputs are rounded to the dtype first)
TOLERANCE = {torch.float64: 1e-9, torch.float32: 1e-4, torch.float16: 2e-3, torch.bfloat16: 2e-2}
# name: (anchors, keys, dim, anchor classes, key classes, norm, options)
CONTRAST_CASES = {
    'basic': (96, 300, 64, 5, 5, 1.0, {}),
    'odd_dim_many_classes': (70, 257, 37, 19, 19, 1.0, {}),
    'one_class_many_blocks': (130, 90, 32, 1, 1, 1.0, {}),
    'self_contrast': (120, 0, 64, 4, 4, 1.0, dict(self_contrast=True)),
    'unbounded_similarities': (40, 120, 16, 3, 3, 8.0, {}),
    'no_anchor_with_a_positive': (20, 50, 16, 2, 2, 1.0, dict(shift_anchor_labels=5)),
    'all_keys_ignored': (20, 50, 16, 2, 2, 1.0, dict(ignore_keys=True)),
}
SCALES = {'cityscapes': (1024, 10_000), '8x': (2048, 40_000)}  # anchors, keys per class (19)
QUICK_SCALES = {'quick': (64, 200)}


def make_contrast_case(name: str, dtype: torch.dtype, device: str) -> dict:
    """Inputs of one case, drawn on the CPU (the same numbers on every device)."""
    num_a, num_k, dim, a_classes, k_classes, norm, opts = CONTRAST_CASES[name]
    gen = torch.Generator().manual_seed(sum(map(ord, name)))
    anchors = F.normalize(torch.randn(num_a, dim, generator=gen), dim=1) * norm
    anchor_labels = torch.randint(0, a_classes, (num_a,), generator=gen)
    anchor_labels[::7] = IGNORE
    self_contrast = opts.get('self_contrast', False)
    keys = key_labels = None
    if not self_contrast:
        keys = F.normalize(torch.randn(num_k, dim, generator=gen), dim=1) * norm
        key_labels = torch.randint(0, k_classes, (num_k,), generator=gen)
        key_labels[::11] = IGNORE
        if opts.get('ignore_keys'):
            key_labels[:] = IGNORE
        keys = keys.to(device, dtype)
        key_labels = key_labels.to(device)
    anchor_labels = torch.where(anchor_labels == IGNORE, IGNORE,
                                anchor_labels + opts.get('shift_anchor_labels', 0))
    return dict(anchors=anchors.to(device, dtype), anchor_labels=anchor_labels.to(device),
                keys=keys, key_labels=key_labels, self_contrast=self_contrast)


def relative_error(got: torch.Tensor, expected: torch.Tensor) -> float:
    """``max |got - expected| / max(max |expected|, 1e-6)``: relative to the largest entry, with
    a floor for quantities that are exactly 0 (a one-class loss); 0 for empty tensors."""
    if expected.numel() == 0:
        return 0.0
    scale = max(expected.abs().max().item(), 1e-6)
    return (got.detach().double().cpu() - expected.detach().double().cpu()).abs().max().item() \
        / scale


def check_contrast(name: str, dtype: torch.dtype, denominator: str, keys_grad: bool,
                   device: str, contrast: Callable = supervised_contrast) -> dict:
    """Loss and gradients of ``contrast`` on ``device`` against the CPU float64 reference."""
    case = make_contrast_case(name, dtype, device)
    anchors = case['anchors'].clone().requires_grad_()
    keys = case['keys']
    self_contrast = case['self_contrast']
    if keys is not None:
        keys = keys.clone().requires_grad_(keys_grad)
    options = dict(temperature=0.1, base_temperature=0.07, denominator=denominator,
                   ignore_index=IGNORE, self_contrast=self_contrast)
    loss = contrast(anchors, case['anchor_labels'], keys, case['key_labels'], **options)
    wrt = [anchors] + ([keys] if keys is not None and keys_grad else [])
    grads = torch.autograd.grad(loss, wrt, allow_unused=True)
    ref_anchors = case['anchors'].detach().cpu().double().requires_grad_()
    ref_keys = None if keys is None else case['keys'].detach().cpu().double().requires_grad_()
    key_labels = None if keys is None else case['key_labels'].cpu()
    ref = supervised_contrast_reference(ref_anchors, case['anchor_labels'].cpu(), ref_keys,
                                        key_labels, **options)
    ref_wrt = [ref_anchors] + ([ref_keys] if keys is not None and keys_grad else [])
    ref_grads = torch.autograd.grad(ref, ref_wrt, allow_unused=True) if ref.requires_grad \
        else [torch.zeros_like(t) for t in ref_wrt]
    errors = {'loss': relative_error(loss, ref)}
    for label, grad, expected in zip(('grad_anchors', 'grad_keys'), grads, ref_grads):
        grad = torch.zeros_like(expected) if grad is None else grad
        errors[label] = relative_error(grad, expected)
        errors[f'{label}_finite'] = bool(torch.isfinite(grad).all())
        errors[f'{label}_dtype_ok'] = grad.dtype == dtype
    tolerance = TOLERANCE[dtype]
    ok = (bool(torch.isfinite(loss)) and errors['loss'] <= tolerance
          and all(errors[f'{g}_finite'] and errors[f'{g}_dtype_ok'] and errors[g] <= tolerance
                  for g in ('grad_anchors', 'grad_keys') if g in errors))
    return dict(check=f'supervised_contrast/{name}/{denominator}/{str(dtype)[6:]}'
                      f'{"/keys_grad" if keys_grad else ""}', ok=ok, **errors)


def check_ring_push(device: str) -> dict:
    """Pushes (one overflowing a class within a single push) bit-exact against the reference."""
    gen = torch.Generator().manual_seed(0)
    bank = torch.zeros(4, 6, DIM)
    ptr, count = torch.zeros(4, dtype=torch.int64), torch.zeros(4, dtype=torch.int64)
    ref = [bank.clone(), ptr.clone(), count.clone()]
    state = [t.to(device) for t in (bank, ptr, count)]
    for n in (5, 40, 0, 13):
        feats = torch.randn(n, DIM, generator=gen)
        labels = torch.randint(0, 5, (n,), generator=gen)
        labels[labels == 4] = IGNORE
        class_ring_push(*state, feats.to(device), labels.to(device), IGNORE)
        class_ring_push_reference(*ref, feats, labels, IGNORE)
    equal = all(torch.equal(got.cpu(), expected) for got, expected in zip(state, ref))
    return dict(check='class_ring_push', ok=equal)


def check_dense_helpers(device: str) -> dict:
    """region_means against the loop reference; sampled pixels have their region's label and
    each region gives min(k, its size) pixels; a bank's keys are what was pushed."""
    gen = torch.Generator().manual_seed(1)
    embeddings = torch.randn(3, 32, 12, 10, generator=gen)
    labels = torch.randint(0, 6, (3, 12, 10), generator=gen)
    labels[labels == 5] = IGNORE
    means, mean_labels, images = region_means(embeddings.to(device), labels.to(device), 5, IGNORE)
    ref_means, ref_labels, ref_images = region_means_reference(embeddings, labels, 5, IGNORE)
    means_error = relative_error(means, ref_means)
    ok = (torch.equal(mean_labels.cpu(), ref_labels) and torch.equal(images.cpu(), ref_images)
          and means_error < 1e-5)
    feats, pixel_labels, pixel_images = sample_pixels_per_region(
        embeddings.to(device), labels.to(device), 4, 5, IGNORE)
    sizes = torch.stack([torch.bincount(labels[b][labels[b] != IGNORE], minlength=5)
                         for b in range(3)])
    got = torch.zeros_like(sizes)
    got.index_put_((pixel_images.cpu(), pixel_labels.cpu()), torch.ones_like(pixel_labels.cpu()),
                   accumulate=True)
    ok &= torch.equal(got, sizes.clamp(max=4))
    flat = embeddings.permute(0, 2, 3, 1).reshape(-1, 32)
    ok &= bool((feats.cpu()[:, None, :] == flat[None]).all(2).any(1).all())
    bank = ClassMemoryBank(5, 8, 32).to(device)
    bank.push(means, mean_labels)
    keys, key_labels = bank.keys()
    order = torch.sort(mean_labels.cpu(), stable=True).indices
    ok &= torch.equal(key_labels.cpu(), mean_labels.cpu()[order])
    ok &= torch.equal(keys.cpu(), means.cpu()[order])
    return dict(check='region_means/sample_pixels_per_region/ClassMemoryBank', ok=bool(ok),
                means_error=means_error)


def run_checks(device: str, contrast: Callable = supervised_contrast) -> list[dict]:
    """Every correctness check; ``contrast`` is replaceable so that tests can break it."""
    results = []
    for dtype in (torch.float32, torch.float16, torch.bfloat16, torch.float64):
        for name in CONTRAST_CASES:
            for denominator in ('contrastiveseg', 'supcon'):
                results.append(check_contrast(name, dtype, denominator, False, device, contrast))
        for name in ('basic', 'odd_dim_many_classes'):
            results.append(check_contrast(name, dtype, 'contrastiveseg', True, device, contrast))
    results.append(check_ring_push(device))
    results.append(check_dense_helpers(device))
    return results


def synchronize(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def best_time(fn: Callable[[], object], repeats: int, device: str) -> float:
    """Best wall-clock seconds of ``fn`` over ``repeats`` runs after one warm-up."""
    fn()
    synchronize(device)
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return best


def peak_memory_mb(fn: Callable[[], object], device: str) -> Optional[float]:
    """Extra peak memory of one call on CUDA (``None`` elsewhere)."""
    if not device.startswith('cuda'):
        return None
    synchronize(device)
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    fn()
    synchronize(device)
    return (torch.cuda.max_memory_allocated() - before) / 2 ** 20


def time_contrast(scale: str, num_anchors: int, per_class: int, repeats: int,
                  device: str) -> dict:
    """Streaming vs dense vs 3 matmuls, forward + backward, at one scale."""
    gen = torch.Generator(device=device).manual_seed(0)
    anchors = F.normalize(torch.randn(num_anchors, DIM, generator=gen, device=device), dim=1)
    anchors.requires_grad_()
    anchor_labels = torch.randint(0, 19, (num_anchors,), generator=gen, device=device)
    keys = F.normalize(torch.randn(19 * per_class, DIM, generator=gen, device=device), dim=1)
    key_labels = torch.arange(19, device=device).repeat_interleave(per_class)

    def streaming() -> None:
        supervised_contrast(anchors, anchor_labels, keys, key_labels, 0.07).backward()

    def dense() -> None:
        dense_contrast(anchors, anchor_labels, keys, key_labels, 0.07).backward()

    def matmuls() -> None:
        with torch.no_grad():
            s = anchors @ keys.T
            s @ keys
            s.T @ anchors

    row = dict(scale=scale, anchors=num_anchors, keys=keys.shape[0])
    for name, fn in (('streaming', streaming), ('dense', dense), ('matmuls', matmuls)):
        row[f'{name}_s'] = best_time(fn, repeats, device)
        row[f'{name}_peak_mb'] = peak_memory_mb(fn, device)
    row['speedup_vs_dense'] = row['dense_s'] / row['streaming_s']
    row['time_vs_3_matmuls'] = row['streaming_s'] / row['matmuls_s']
    return row


def time_ring_push(rows: int, repeats: int, device: str) -> dict:
    """``class_ring_push`` of ``rows`` rows into a [19, 10000, 256] bank: the package's path
    (Triton scatter on CUDA) against torch indexing of the same destinations."""
    from cl_dense.ops.ring_push import advance, ring_destinations

    gen = torch.Generator(device=device).manual_seed(1)
    bank = torch.zeros(19, 10_000, DIM, device=device)
    ptr = torch.zeros(19, dtype=torch.int64, device=device)
    count = torch.zeros_like(ptr)
    feats = torch.randn(rows, DIM, generator=gen, device=device)
    labels = torch.randint(0, 19, (rows,), generator=gen, device=device)

    def package() -> None:
        class_ring_push(bank, ptr, count, feats, labels, IGNORE, validate=False)

    def indexing() -> None:
        dest, written = ring_destinations(ptr, labels, bank.shape[1], IGNORE)
        keep = dest >= 0
        bank.view(-1, DIM)[dest[keep]] = feats[keep]
        advance(ptr, count, written, bank.shape[1])

    package_s, indexing_s = best_time(package, repeats, device), best_time(indexing, repeats,
                                                                             device)
    return dict(rows=rows, package_s=package_s, indexing_s=indexing_s,
                speedup_vs_indexing=indexing_s / package_s)


def print_report(checks: list[dict], timings: list[dict], pushes: list[dict]) -> None:
    failed = [c for c in checks if not c['ok']]
    print(f'checks: {len(checks) - len(failed)}/{len(checks)} passed')
    for c in failed:
        print('  FAILED', json.dumps(c))
    header = (f"{'scale':<11}{'A':>6}{'M':>9} | {'stream ms':>10}{'dense ms':>10}{'3 mm ms':>9} |"
              f"{'x dense':>8}{'x 3mm':>7} | {'stream MB':>10}{'dense MB':>10}")
    print(header)
    print('-' * len(header))
    for r in timings:
        stream_mb = '-' if r['streaming_peak_mb'] is None else f"{r['streaming_peak_mb']:.0f}"
        dense_mb = '-' if r['dense_peak_mb'] is None else f"{r['dense_peak_mb']:.0f}"
        print(f"{r['scale']:<11}{r['anchors']:>6}{r['keys']:>9} | {r['streaming_s'] * 1e3:>10.2f}"
              f"{r['dense_s'] * 1e3:>10.2f}{r['matmuls_s'] * 1e3:>9.2f} |"
              f"{r['speedup_vs_dense']:>7.2f}x{r['time_vs_3_matmuls']:>6.2f}x | {stream_mb:>10}"
              f"{dense_mb:>10}")
    for p in pushes:
        print(f"class_ring_push {p['rows']} rows: {p['package_s'] * 1e3:.3f} ms vs torch indexing "
              f"{p['indexing_s'] * 1e3:.3f} ms ({p['speedup_vs_indexing']:.2f}x)")


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--json', help='also write the results to this JSON file')
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--quick', action='store_true', help='small timing shapes only')
    parser.add_argument('--device', default='cuda',
                        help="'cuda' (default); 'cpu' runs the script's own code on the CPU")
    args = parser.parse_args(argv)
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        print('gpu_check: no CUDA device here; nothing to check (the CPU paths and the Triton '
              'kernels under TRITON_INTERPRET=1 are covered by the test suite). Exiting 0.')
        return 0
    started = time.perf_counter()
    checks = run_checks(args.device)
    try:
        import torchvision  # noqa: F401
        from gpu_check_mmcv_ext import run_checks as run_mmcv_ext_checks
        checks += run_mmcv_ext_checks(args.device)
    except ImportError:
        print('gpu_check: torchvision is not installed; the mmcv._ext replacement is not checked')
    scales = QUICK_SCALES if args.quick else SCALES
    timings = [time_contrast(name, *shape, args.repeats, args.device)
               for name, shape in scales.items()]
    pushes = [time_ring_push(rows, args.repeats, args.device)
              for rows in ((1000,) if args.quick else (1520, 190_000))]
    print_report(checks, timings, pushes)
    device_name = torch.cuda.get_device_name() if args.device.startswith('cuda') else 'cpu'
    result = dict(device=device_name, torch=torch.__version__,
                  triton=_triton_version(), seconds=time.perf_counter() - started,
                  checks_passed=sum(c['ok'] for c in checks), checks_total=len(checks),
                  failed=[c for c in checks if not c['ok']], contrast=timings, push=pushes)
    print(json.dumps(result))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)
    return 0 if result['checks_passed'] == result['checks_total'] else 1


def _triton_version() -> Optional[str]:
    try:
        import triton
    except ImportError:
        return None
    return triton.__version__


if __name__ == '__main__':
    sys.exit(main())
