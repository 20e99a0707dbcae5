"""The benchmark's dense baseline and loop baseline compute what the package computes."""
import torch
import torch.nn.functional as F

from cl_dense.memory import ClassMemoryBank
from cl_dense.ops import supervised_contrast

from ..tool_loading import load_tool


def load_benchmark():
    return load_tool('analysis_tools/benchmark_contrast.py')


def test_dense_baseline_matches_the_op():
    bench = load_benchmark()
    gen = torch.Generator().manual_seed(0)
    anchors = F.normalize(torch.randn(20, 8, generator=gen), dim=1).requires_grad_()
    anchor_labels = torch.randint(0, 3, (20,), generator=gen)
    keys = F.normalize(torch.randn(60, 8, generator=gen), dim=1)
    key_labels = torch.arange(3).repeat_interleave(20)
    dense = bench.dense_contrast(anchors, anchor_labels, keys, key_labels, 0.07)
    grad_dense, = torch.autograd.grad(dense, anchors)
    ours = supervised_contrast(anchors, anchor_labels, keys, key_labels, 0.07)
    grad_ours, = torch.autograd.grad(ours, anchors)
    torch.testing.assert_close(ours, dense, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(grad_ours, grad_dense, rtol=1e-4, atol=1e-6)


def test_loop_and_vectorised_pushes_fill_the_same_regions():
    bench = load_benchmark()
    embeddings, labels = bench.push_inputs(batch=2, height=16, width=32)
    banks = {}
    for name, step in (('loop', bench.push_loop), ('vectorised', bench.push_vectorised)):
        segments, pixels = (ClassMemoryBank(bench.NUM_CLASSES, 50, bench.DIM) for _ in range(2))
        step(segments, pixels, embeddings, labels, 3, torch.Generator().manual_seed(0))
        banks[name] = (segments, pixels)
    for loop_bank, vectorised_bank in zip(banks['loop'], banks['vectorised']):
        assert torch.equal(loop_bank.count, vectorised_bank.count)
    # region means do not depend on the random draw: same keys, class by class
    loop_means, vectorised_means = banks['loop'][0].keys()[0], banks['vectorised'][0].keys()[0]
    torch.testing.assert_close(vectorised_means, loop_means, rtol=1e-4, atol=1e-5)
