"""PCRL: preservational contrastive pretraining of a UNet (medical images)."""
from .model import PCRL, mixup
from .transforms import (CODE_DIM, CODE_FIELDS, PCRLTransform, invert_spatial_transform,
                         spatial_transform)
from .unet import CodeChannelAttention, PCRLUNet

__all__ = ['CODE_DIM', 'CODE_FIELDS', 'CodeChannelAttention', 'PCRL', 'PCRLTransform', 'PCRLUNet',
           'invert_spatial_transform', 'mixup', 'spatial_transform']
