"""Triton kernels on the CPU under TRITON_INTERPRET=1, against the dense references, and
compiled for a CUDA target (sm_80 cubin, no GPU needed) to check the GPU code path itself.

The interpreter must be switched on before triton is imported, so the checks run in one
subprocess (``run_checks``) and each case becomes one test here. Sizes are tiny: the interpreter
runs every program instance in Python.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip('triton', reason='triton is not installed; the CUDA kernels are not tested')

ROOT = Path(__file__).resolve().parents[2]
IGNORE = 255
CONTRAST_CASES = {
    # name: (A, M, D, anchor classes, key classes, denominator, self-contrast, keys sorted)
    'contrastiveseg': (8, 40, 16, 4, 4, 'contrastiveseg', False, False),
    'supcon': (8, 40, 16, 4, 4, 'supcon', False, False),
    'contrastiveseg_self': (20, 20, 16, 3, 3, 'contrastiveseg', True, False),
    'supcon_self': (20, 20, 16, 3, 3, 'supcon', True, False),
    'sorted_keys_odd_dim': (8, 70, 12, 3, 3, 'contrastiveseg', False, True),
    'single_class': (6, 30, 16, 1, 1, 'contrastiveseg', False, False),
    'absent_classes': (40, 33, 16, 6, 2, 'supcon', False, False),
    # ~45 anchors per class: classes spanning two positive-pass blocks
    'multi_block_classes': (90, 50, 16, 2, 3, 'contrastiveseg', False, False),
    'multi_block_classes_self': (70, 70, 16, 2, 2, 'contrastiveseg', True, False),
}


def _contrast_case(name: str) -> dict:
    """Loss and gradients of the Triton passes and of the reference for one case."""
    import torch
    import torch.nn.functional as F

    from cl_dense.ops import contrast_triton
    from cl_dense.ops.reference import supervised_contrast_reference
    from cl_dense.ops.supervised_contrast import contrast_forward, contrast_keys_backward

    num_a, num_k, dim, a_classes, k_classes, denominator, self_contrast, keys_sorted = \
        CONTRAST_CASES[name]
    gen = torch.Generator().manual_seed(len(name))
    anchors = F.normalize(torch.randn(num_a, dim, generator=gen), dim=1)
    anchor_labels = torch.randint(0, a_classes, (num_a,), generator=gen)
    anchor_labels[0] = IGNORE
    if self_contrast:
        keys, key_labels = anchors, anchor_labels
    else:
        keys = F.normalize(torch.randn(num_k, dim, generator=gen), dim=1)
        key_labels = torch.randint(0, k_classes, (num_k,), generator=gen)
        if keys_sorted:
            key_labels = key_labels.sort().values
        else:
            key_labels[1] = IGNORE
    options = (0.1, 0.07, denominator, IGNORE, self_contrast, 8)
    loss, log_z, pos_weight, grad_a = contrast_forward(contrast_triton, anchors, anchor_labels,
                                                       keys, key_labels, *options, True)
    grad_k = contrast_keys_backward(contrast_triton, torch.tensor(1.0), anchors, anchor_labels,
                                    keys, key_labels, log_z, pos_weight, *options)
    a64 = anchors.double().requires_grad_()
    k64 = a64 if self_contrast else keys.double().requires_grad_()
    ref = supervised_contrast_reference(a64, anchor_labels, k64, key_labels, 0.1, 0.07,
                                        denominator, IGNORE, self_contrast)
    if self_contrast:  # one tensor in both roles: autograd adds the two gradients
        ref_a, ref_k = torch.autograd.grad(ref, [a64])[0], None
        grad_a = grad_a + grad_k
    else:
        ref_a, ref_k = torch.autograd.grad(ref, [a64, k64])
    return dict(loss=(loss.item(), ref.item()), grad_a=_rel_err(grad_a, ref_a),
                grad_k=0.0 if ref_k is None else _rel_err(grad_k, ref_k))


def _rel_err(got, expected) -> float:
    scale = expected.abs().max().item() + 1e-7
    return ((got.double() - expected).abs().max().item()) / scale


def _ring_case() -> dict:
    import torch

    from cl_dense.ops import contrast_triton
    from cl_dense.ops.reference import class_ring_push_reference
    from cl_dense.ops.ring_push import advance, ring_destinations

    gen = torch.Generator().manual_seed(0)
    bank, ptr, count = torch.zeros(3, 4, 5), torch.zeros(3, dtype=torch.int64), \
        torch.zeros(3, dtype=torch.int64)
    ref = (bank.clone(), ptr.clone(), count.clone())
    for n in (3, 9, 0, 6):
        feats = torch.randn(n, 5, generator=gen)
        labels = torch.randint(0, 4, (n,), generator=gen)
        labels[labels == 3] = IGNORE
        dest, written = ring_destinations(ptr, labels, 4, IGNORE)
        contrast_triton.scatter_rows(bank, feats, dest)
        advance(ptr, count, written, 4)
        class_ring_push_reference(*ref, feats, labels)
    return dict(equal=all(torch.equal(a, b) for a, b in zip((bank, ptr, count), ref)))


def run_checks() -> None:
    """Entry point of the subprocess: prints one JSON object of results per case."""
    results = {name: _contrast_case(name) for name in CONTRAST_CASES}
    results['ring_push'] = _ring_case()
    print(json.dumps(results))


@pytest.fixture(scope='module')
def interpreter_results() -> dict:
    env = dict(os.environ, TRITON_INTERPRET='1')
    proc = subprocess.run([sys.executable, '-c',
                           'from tests.ops.test_triton_kernels import run_checks; run_checks()'],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize('case', list(CONTRAST_CASES))
def test_contrast_kernels_match_the_reference(interpreter_results, case):
    result = interpreter_results[case]
    loss, ref = result['loss']
    assert loss == pytest.approx(ref, rel=1e-5, abs=1e-7)
    assert result['grad_a'] < 1e-5 and result['grad_k'] < 1e-5


def test_ring_push_kernel_matches_the_reference(interpreter_results):
    assert interpreter_results['ring_push']['equal']


INT_POINTERS = {'a_lab_ptr', 'self_ptr', 'order_ptr', 'k_lab_ptr', 'block_lo_ptr', 'block_hi_ptr',
                'block_row_ptr', 'block_end_ptr', 'dest_ptr'}


def test_positive_blocks_hold_one_class_and_read_only_its_keys():
    """Every anchor of the plan is in exactly one block, a block's anchors share one class, and
    its key range is exactly that class's keys (not the span between its lowest and highest
    class, which was about half the bank with the memory defaults)."""
    import torch

    from cl_dense.ops.contrast_plan import build_plan
    from cl_dense.ops.contrast_triton import BLOCK_ANCHORS, class_blocks

    gen = torch.Generator().manual_seed(3)
    anchor_labels = torch.randint(0, 19, (300,), generator=gen)
    anchor_labels[:80] = 4  # one class over several blocks
    key_labels = torch.arange(19).repeat_interleave(50)[torch.randperm(950, generator=gen)]
    plan = build_plan(anchor_labels, key_labels, IGNORE, False)
    first, end, key_lo, key_hi = class_blocks(plan)
    covered = torch.zeros(plan.num_anchors, dtype=torch.int64)
    for row, stop, lo, hi in zip(first.tolist(), end.tolist(), key_lo.tolist(), key_hi.tolist()):
        rows = slice(row, min(row + BLOCK_ANCHORS, stop))
        covered[rows] += 1
        classes = plan.anchor_labels[rows].unique()
        assert classes.numel() == 1
        assert plan.key_labels[lo:hi].eq(classes).all() and hi - lo == 50
    assert covered.eq(1).all()
    assert first.shape[0] == sum(-(-int(n) // BLOCK_ANCHORS)
                                 for n in torch.bincount(anchor_labels) if n > 0)


def _compile_for_cuda(fn, keys_type: str = 'fp32', **constexprs) -> None:
    """Compile ``fn`` to a cubin for an sm_80 GPU (no GPU needed; ptxas comes with Triton)."""
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    signature = {}
    for name in fn.arg_names:
        if name in constexprs:
            signature[name] = 'constexpr'
        elif name in INT_POINTERS:
            signature[name] = '*i64'
        elif name == 'keys_ptr':
            signature[name] = '*' + keys_type
        else:
            signature[name] = '*fp32' if name.endswith('_ptr') else 'i32'
    compiled = triton.compile(ASTSource(fn=fn, signature=signature, constexprs=constexprs),
                              target=GPUTarget('cuda', 80, 32))
    assert compiled.asm['cubin']


def test_kernels_compile_for_a_cuda_target():
    """The interpreter does not type-check like the compiler: compile the real GPU code too."""
    from cl_dense.ops import triton_kernels as kernels

    blocks = dict(BLOCK_A=32, BLOCK_K=32, BLOCK_D=256)
    _compile_for_cuda(kernels.denominator_kernel, 'fp16', EXCLUDE_SAME=True, WITH_KEYS=True,
                      **blocks)
    _compile_for_cuda(kernels.positive_kernel, 'bf16', WITH_KEYS=False, **blocks)
    _compile_for_cuda(kernels.grad_key_kernel, EXCLUDE_SAME=False, **blocks)
    _compile_for_cuda(kernels.scatter_rows_kernel, BLOCK_D=256)


def test_cuda_path_imports_without_a_gpu():
    from cl_dense.ops import contrast_triton, triton_kernels
    from cl_dense.ops.supervised_contrast import default_backend

    import torch
    assert default_backend(torch.zeros(1, 2)).__name__.endswith('contrast_cpu')
    assert callable(contrast_triton.forward_stats) and callable(triton_kernels.scatter_rows_kernel)
