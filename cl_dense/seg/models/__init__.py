"""mmseg models: projection head and the contrast-enabled segmentor."""
from .contrast_encoder_decoder import ContrastEncoderDecoder
from .projection_head import ContrastProjectionHead

__all__ = ['ContrastEncoderDecoder', 'ContrastProjectionHead']
