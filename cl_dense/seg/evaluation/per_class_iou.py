"""mmseg's IoUMetric that also returns each class's IoU, so logs and ``scalars.json`` hold it."""
from collections import OrderedDict
from typing import Dict

import torch
from mmseg.evaluation.metrics import IoUMetric
from mmseg.registry import METRICS


def per_class_iou(results: list, class_names: tuple) -> Dict[str, float]:
    """``{'IoU.<class>': percent}`` from IoUMetric's per-image results.

    Args:
        results: per image, (area_intersect [C], area_union [C], area_pred [C], area_label [C]).
        class_names: the C class names.

    Returns:
        IoU x 100 (rounded to 2 decimals, as mmseg's table) of every class whose union is not
        empty; a class absent from both prediction and labels has no IoU and no key.
    """
    if not results:
        return {}
    intersect = torch.stack([r[0] for r in results]).sum(0).double()
    union = torch.stack([r[1] for r in results]).sum(0).double()
    if intersect.numel() != len(class_names):
        raise ValueError(f'{intersect.numel()} class areas for {len(class_names)} class names')
    return {f'IoU.{name}': round(float(i / u) * 100, 2)
            for name, i, u in zip(class_names, intersect, union) if u > 0}


@METRICS.register_module()
class PerClassIoUMetric(IoUMetric):
    """:class:`mmseg.evaluation.IoUMetric` plus ``IoU.<class>`` for each class (same arguments).

    mmseg prints the per-class table but returns only the averages; these keys reach the log
    processor, ``scalars.json`` and the visualiser backends, so per-class curves can be drawn.
    """

    def compute_metrics(self, results: list) -> Dict[str, float]:
        metrics = super().compute_metrics(results)
        if self.format_only:
            return metrics
        out = OrderedDict(metrics)
        out.update(per_class_iou(results, tuple(self.dataset_meta['classes'])))
        return out
