"""Registration of the losses in mmengine's root ``MODELS`` registry, when mmengine is present.

The root registry is the parent of mmseg's and mmdet's ``MODELS``, so a loss registered here is
found from both kinds of config (``dict(type='PixelContrastLoss', ...)``). Without mmengine the
decorator leaves the class unchanged, so ``cl_dense.losses`` works with torch alone.
"""
from typing import TypeVar

try:
    from mmengine.registry import MODELS
except ImportError:  # torch-only installation
    MODELS = None

T = TypeVar('T', bound=type)


def register_loss(cls: T) -> T:
    """Class decorator: register ``cls`` in mmengine's root MODELS registry if mmengine exists."""
    if MODELS is not None:
        MODELS.register_module(module=cls)
    return cls
