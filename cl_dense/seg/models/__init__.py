"""mmseg models: projection head and the contrast branch for mmseg segmentors."""
from .contrast_encoder_decoder import ContrastCascadeEncoderDecoder, ContrastEncoderDecoder
from .contrast_segmentor import PixelContrastMixin, with_pixel_contrast
from .projection_head import ContrastProjectionHead

__all__ = ['ContrastCascadeEncoderDecoder', 'ContrastEncoderDecoder', 'ContrastProjectionHead',
           'PixelContrastMixin', 'with_pixel_contrast']
