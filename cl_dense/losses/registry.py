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


def check_loss_name(loss_name: str) -> None:
    """A loss's dict key must start with ``loss_``: mmengine sums exactly those keys."""
    if not loss_name.startswith('loss_'):
        raise ValueError(f'loss_name must start with "loss_" (mmengine sums those), got '
                         f'{loss_name!r}')
