"""mmseg integration (registered in mmseg's MODELS / DATASETS); never imports mmdet.

Load it from a config with
``custom_imports = dict(imports=['cl_dense.seg'], allow_failed_imports=False)``; this also
registers the contrast losses (``cl_dense.losses``), the datasets (``cl_dense.seg.datasets``) and
``PerClassIoUMetric`` (``cl_dense.seg.evaluation``).
"""
from .. import losses  # noqa: F401  (registers the contrast losses)
from . import datasets  # noqa: F401  (registers the datasets)
from . import evaluation  # noqa: F401  (registers PerClassIoUMetric)
from .models import (ContrastCascadeEncoderDecoder, ContrastEncoderDecoder, ContrastProjectionHead,
                     PixelContrastMixin, with_pixel_contrast)

__all__ = ['ContrastCascadeEncoderDecoder', 'ContrastEncoderDecoder', 'ContrastProjectionHead',
           'PixelContrastMixin', 'with_pixel_contrast']
