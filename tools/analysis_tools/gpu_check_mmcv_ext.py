"""The torchvision/torch-backed ``mmcv._ext`` ops (cl_dense/mmcv_ext) on a device against the CPU.

    PYTHONPATH=. python tools/analysis_tools/gpu_check_mmcv_ext.py [--device cuda]

Needs torch and torchvision (no OpenMMLab). Each op runs on ``--device`` and on the CPU with the
same float64 inputs; outputs and gradients must agree to 1e-9 relative error (NMS: the same kept
indices). Without CUDA (or torchvision) it says so and exits 0. :mod:`gpu_check` runs these
checks too when torchvision is installed.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Callable, Optional

import torch

TOLERANCE = 1e-9


def _inputs(seed: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    feats = torch.randn(2, 4, 13, 17, generator=gen, dtype=torch.float64)
    rois = torch.tensor([[0, 1.3, 0.7, 20.2, 15.9], [1, 0.0, 0.0, 3.0, 2.0],
                         [1, 5.5, 4.2, 31.0, 27.5], [0, 6.0, 6.0, 6.2, 6.1]], dtype=torch.float64)
    xy = torch.rand(200, 2, generator=gen, dtype=torch.float64) * 100
    boxes = torch.cat([xy, xy + torch.rand(200, 2, generator=gen, dtype=torch.float64) * 30 + 1], 1)
    scores = torch.randperm(200, generator=gen).double() / 200
    return dict(feats=feats, rois=rois, boxes=boxes, scores=scores)


def _roi_align(device: str, aligned: bool, sampling_ratio: int) -> list[torch.Tensor]:
    from cl_dense.mmcv_ext.roi_align import roi_align_backward, roi_align_forward
    data = _inputs(0)
    feats, rois = data['feats'].to(device), data['rois'].to(device)
    out = feats.new_zeros(4, 4, 7, 7)
    empty = feats.new_zeros(0)
    roi_align_forward(feats, rois, out, empty, empty, 7, 7, 0.5, sampling_ratio, 1, aligned)
    grad_out = torch.randn(out.shape, generator=torch.Generator().manual_seed(1),
                           dtype=torch.float64).to(device)
    grad_in = torch.zeros_like(feats)
    roi_align_backward(grad_out, rois, empty, empty, grad_in, 7, 7, 0.5, sampling_ratio, 1, aligned)
    return [out, grad_in]


def _nms(device: str, offset: int) -> list[torch.Tensor]:
    from cl_dense.mmcv_ext.nms import nms
    data = _inputs(2)
    return [nms(data['boxes'].to(device), data['scores'].to(device), 0.5, offset)]


def _focal(device: str) -> list[torch.Tensor]:
    from cl_dense.mmcv_ext.focal_loss import sigmoid_focal_loss_backward, sigmoid_focal_loss_forward
    gen = torch.Generator().manual_seed(3)
    logits = torch.randn(50, 7, generator=gen, dtype=torch.float64).to(device)
    target = torch.randint(0, 8, (50,), generator=gen).to(device)
    out, grad = torch.empty_like(logits), torch.empty_like(logits)
    sigmoid_focal_loss_forward(logits, target, logits.new_empty(0), out, 2.0, 0.25)
    sigmoid_focal_loss_backward(logits, target, logits.new_empty(0), grad, 2.0, 0.25)
    return [out, grad]


def _deform_attn(device: str) -> list[torch.Tensor]:
    from cl_dense.mmcv_ext.ms_deform_attn import ms_deform_attn_backward, ms_deform_attn_forward
    gen = torch.Generator().manual_seed(4)
    shapes = torch.tensor([[8, 9], [4, 5]])
    starts = torch.tensor([0, 72])
    value = torch.randn(2, 92, 4, 8, generator=gen, dtype=torch.float64)
    locs = torch.rand(2, 11, 4, 2, 4, 2, generator=gen, dtype=torch.float64)
    weights = torch.rand(2, 11, 4, 2, 4, generator=gen, dtype=torch.float64)
    value, shapes, starts, locs, weights = (t.to(device) for t in (value, shapes, starts, locs, weights))
    out = ms_deform_attn_forward(value, shapes, starts, locs, weights, 64)
    grads = [torch.zeros_like(t) for t in (value, locs, weights)]
    ms_deform_attn_backward(value, shapes, starts, locs, weights, torch.ones_like(out), *grads, 64)
    return [out, *grads]


def _deform_conv(device: str) -> list[torch.Tensor]:
    from cl_dense.mmcv_ext.deform_conv import (modulated_deform_conv_backward,
                                               modulated_deform_conv_forward)
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(2, 4, 9, 10, generator=gen, dtype=torch.float64)
    weight = torch.randn(6, 4, 3, 3, generator=gen, dtype=torch.float64)
    bias = torch.randn(6, generator=gen, dtype=torch.float64)
    offset = torch.randn(2, 18, 9, 10, generator=gen, dtype=torch.float64)
    mask = torch.rand(2, 9, 9, 10, generator=gen, dtype=torch.float64)
    x, weight, bias, offset, mask = (t.to(device) for t in (x, weight, bias, offset, mask))
    out = x.new_zeros(2, 6, 9, 10)
    args = (3, 3, 1, 1, 1, 1, 1, 1, 1, 1, True)
    empty = x.new_empty(0)
    modulated_deform_conv_forward(x, weight, bias, empty, offset, mask, out, empty, *args)
    grads = [torch.zeros_like(t) for t in (x, weight, bias, offset, mask)]
    modulated_deform_conv_backward(x, weight, bias, empty, offset, mask, empty, grads[0], grads[1],
                                   grads[2], grads[3], grads[4], torch.ones_like(out), *args)
    return [out, *grads]


CHECKS: dict[str, Callable[[str], list[torch.Tensor]]] = {
    'roi_align/aligned/sampling0': lambda d: _roi_align(d, True, 0),
    'roi_align/unaligned/sampling2': lambda d: _roi_align(d, False, 2),
    'nms/offset0': lambda d: _nms(d, 0),
    'nms/offset1': lambda d: _nms(d, 1),
    'sigmoid_focal_loss': _focal,
    'ms_deform_attn': _deform_attn,
    'modulated_deform_conv': _deform_conv,
}


def run_checks(device: str, checks: Optional[dict] = None) -> list[dict]:
    """Each check on ``device`` against the CPU: ``{'check', 'ok', 'max_rel_error'}``."""
    results = []
    for name, fn in (checks or CHECKS).items():
        got, want = fn(device), fn('cpu')
        errors = []
        for g, w in zip(got, want):
            g = g.cpu()
            if g.dtype in (torch.int64, torch.int32):
                errors.append(0.0 if torch.equal(g, w) else float('inf'))
            else:
                errors.append(float((g - w).abs().max() / w.abs().max().clamp(min=1e-30)))
        worst = max(errors) if errors else 0.0
        results.append(dict(check=f'mmcv_ext/{name}', ok=worst <= TOLERANCE, max_rel_error=worst))
    return results


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cuda')
    args = parser.parse_args(argv)
    try:
        import torchvision  # noqa: F401
    except ImportError:
        print('gpu_check_mmcv_ext: torchvision is not installed; nothing to check. Exiting 0.')
        return 0
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        print('gpu_check_mmcv_ext: no CUDA device here; nothing to check. Exiting 0.')
        return 0
    results = run_checks(args.device)
    for r in results:
        print(f"{r['check']:<40} {'ok' if r['ok'] else 'FAILED':<7} max rel. error {r['max_rel_error']:.2e}")
    print(json.dumps(dict(device=args.device, results=results)))
    return 0 if all(r['ok'] for r in results) else 1


if __name__ == '__main__':
    sys.exit(main())
