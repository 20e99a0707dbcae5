"""GLCNet (Li et al., IEEE TGRS 2022): global style and local matching contrastive pretraining
of a segmentation encoder-decoder (see docs/zoo_glcnet.md)."""
from .correspondence import crop_coords, dihedral, match_cells, sample_cells
from .features import pool_windows, style_statistics
from .transforms import OverlappingViews

__all__ = ['OverlappingViews', 'crop_coords', 'dihedral', 'match_cells', 'pool_windows',
           'sample_cells', 'style_statistics']
