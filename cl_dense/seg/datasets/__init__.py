"""Segmentation datasets registered in mmseg's DATASETS registry."""
from .aerial_dubai import AerialDubaiDataset
from .color_mask import LoadColorMaskAnnotations
from .isbi_em import IsbiEMDataset
from .synthetic_shapes import SyntheticShapesDataset

__all__ = ['SyntheticShapesDataset', 'AerialDubaiDataset', 'IsbiEMDataset', 'LoadColorMaskAnnotations']
