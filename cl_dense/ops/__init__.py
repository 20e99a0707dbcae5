"""Custom ops of dense contrastive learning (torch only), registered as ``torch.ops.cl_dense.*``."""
from .dense_helpers import region_means, sample_pixel_indices, sample_pixels_per_region
from .ring_push import class_ring_push
from .supervised_contrast import DENOMINATORS, supervised_contrast

__all__ = ['DENOMINATORS', 'class_ring_push', 'region_means', 'sample_pixel_indices',
           'sample_pixels_per_region', 'supervised_contrast']
