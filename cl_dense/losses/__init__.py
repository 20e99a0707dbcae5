"""Contrast losses as ``nn.Module``s, registered in mmengine's root MODELS registry when mmengine
is installed (found from mmseg and mmdet configs); importable with torch alone."""
from .info_nce import InfoNCELoss, info_nce
from .pixel_contrast import PixelContrastLoss
from .pixel_memory_contrast import PixelMemoryContrastLoss

__all__ = ['InfoNCELoss', 'PixelContrastLoss', 'PixelMemoryContrastLoss', 'info_nce']
