"""Contrast losses as ``nn.Module``s, registered in mmengine's root MODELS registry when mmengine
is installed (found from mmseg and mmdet configs); importable with torch alone."""
from .info_nce import InfoNCELoss, info_nce
from .metric_learning import ContrastivePairLoss, LogisticPairLoss, NPairLoss, TripletMarginLoss
from .pixel_contrast import PixelContrastLoss
from .pixel_memory_contrast import PixelMemoryContrastLoss
from .prototype_clustering import PrototypeClusteringLoss
from .supcon import NTXentLoss, SupConLoss

__all__ = ['ContrastivePairLoss', 'InfoNCELoss', 'LogisticPairLoss', 'NPairLoss', 'NTXentLoss',
           'PixelContrastLoss', 'PixelMemoryContrastLoss', 'PrototypeClusteringLoss',
           'SupConLoss', 'TripletMarginLoss', 'info_nce']
