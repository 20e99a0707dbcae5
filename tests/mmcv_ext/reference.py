"""Slow, obvious references for the ops of cl_dense.mmcv_ext (loops over boxes, bins, samples)."""
import math

import torch


def bilinear(feature: torch.Tensor, y, x) -> torch.Tensor:
    """[C] value of ``feature`` [C, H, W] at (y, x), Detectron's rule: 0 outside [-1, H] x [-1, W],
    coordinates clamped at 0 and at the last row / column. ``y``, ``x``: floats, or 0-d tensors
    (then the value is differentiable in them too)."""
    height, width = feature.shape[1:]
    if float(y) < -1.0 or float(y) > height or float(x) < -1.0 or float(x) > width:
        return feature.new_zeros(feature.shape[0])
    y = y.clamp(min=0.0) if torch.is_tensor(y) else max(y, 0.0)
    x = x.clamp(min=0.0) if torch.is_tensor(x) else max(x, 0.0)
    y0, x0 = int(y), int(x)
    if y0 >= height - 1:
        y0 = y1 = height - 1
        y = float(y0)
    else:
        y1 = y0 + 1
    if x0 >= width - 1:
        x0 = x1 = width - 1
        x = float(x0)
    else:
        x1 = x0 + 1
    ly, lx = y - y0, x - x0
    hy, hx = 1 - ly, 1 - lx
    return (hy * hx * feature[:, y0, x0] + hy * lx * feature[:, y0, x1]
            + ly * hx * feature[:, y1, x0] + ly * lx * feature[:, y1, x1])


def roi_align_reference(input: torch.Tensor, rois: torch.Tensor, out_h: int, out_w: int,
                        scale: float, sampling_ratio: int, aligned: bool) -> torch.Tensor:
    """[K, C, out_h, out_w] average RoIAlign, one bilinear sample at a time (differentiable)."""
    offset = 0.5 if aligned else 0.0
    outputs = []
    for roi in rois.tolist():
        feature = input[int(roi[0])]
        x1, y1, x2, y2 = (v * scale - offset for v in roi[1:])
        w, h = x2 - x1, y2 - y1
        if not aligned:
            w, h = max(w, 1.0), max(h, 1.0)
        bin_h, bin_w = h / out_h, w / out_w
        grid_h = sampling_ratio if sampling_ratio > 0 else math.ceil(h / out_h)
        grid_w = sampling_ratio if sampling_ratio > 0 else math.ceil(w / out_w)
        count = max(grid_h * grid_w, 1)
        bins = []
        for ph in range(out_h):
            for pw in range(out_w):
                total = feature.new_zeros(feature.shape[0])
                for iy in range(grid_h):
                    y = y1 + ph * bin_h + (iy + 0.5) * bin_h / grid_h
                    for ix in range(grid_w):
                        x = x1 + pw * bin_w + (ix + 0.5) * bin_w / grid_w
                        total = total + bilinear(feature, y, x)
                bins.append(total / count)
        outputs.append(torch.stack(bins, 1).view(-1, out_h, out_w))
    if not outputs:
        return input.new_zeros(0, input.shape[1], out_h, out_w)
    return torch.stack(outputs)


def nms_reference(boxes: torch.Tensor, scores: torch.Tensor, threshold: float,
                  offset: int = 0) -> list[int]:
    """Greedy NMS in Python: indices kept, highest score first."""
    order = sorted(range(len(scores)), key=lambda i: -float(scores[i]))
    keep: list[int] = []
    for i in order:
        ok = True
        for j in keep:
            bi, bj = boxes[i].tolist(), boxes[j].tolist()
            iw = min(bi[2], bj[2]) - max(bi[0], bj[0]) + offset
            ih = min(bi[3], bj[3]) - max(bi[1], bj[1]) + offset
            inter = max(iw, 0.0) * max(ih, 0.0)
            area_i = (bi[2] - bi[0] + offset) * (bi[3] - bi[1] + offset)
            area_j = (bj[2] - bj[0] + offset) * (bj[3] - bj[1] + offset)
            if inter / (area_i + area_j - inter) > threshold:
                ok = False
                break
        if ok:
            keep.append(i)
    return keep
