"""GLCNet (Li et al., IEEE TGRS 2022): global style and local matching contrastive pretraining
of a segmentation encoder-decoder (see docs/zoo_glcnet.md)."""
from .correspondence import crop_coords, dihedral, match_cells, sample_cells
from .features import matched_windows, pool_windows, style_statistics
from .model import GLCNet
from .transforms import OverlappingViews

__all__ = ['GLCNet', 'OverlappingViews', 'crop_coords', 'dihedral', 'match_cells',
           'matched_windows', 'pool_windows', 'sample_cells', 'style_statistics']
