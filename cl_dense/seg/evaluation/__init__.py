"""mmseg evaluation additions (registered in mmseg's METRICS)."""
from .per_class_iou import PerClassIoUMetric

__all__ = ['PerClassIoUMetric']
