"""The tiny contrast segmentor of the seg tests, and fake batches for it."""
from pathlib import Path
from typing import List, Optional, Tuple

import torch
from mmengine.config import Config, ConfigDict
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from torch import Tensor

CONFIG_DIR = Path(__file__).parent / 'configs'
TINY_CONTRAST_CONFIG = CONFIG_DIR / 'tiny_contrast_synthetic-shapes-32x32.py'
NUM_CLASSES = 5


def tiny_model_cfg(contrast_loss: Optional[dict] = None, warmup: Optional[int] = None
                   ) -> ConfigDict:
    """The model config of the tiny contrast config, optionally with another loss / warm-up."""
    model = Config.fromfile(str(TINY_CONTRAST_CONFIG)).model
    if contrast_loss is not None:
        model['contrast_loss'] = contrast_loss
    if warmup is not None:
        model['contrast_warmup_iters'] = warmup
    return model


def fake_batch(num: int = 2, size: int = 32, seed: int = 0) -> Tuple[Tensor, List[SegDataSample]]:
    """Normalised images [num, 3, size, size] and samples with blocky labels (8x8 blocks)."""
    gen = torch.Generator().manual_seed(seed)
    inputs = torch.randn(num, 3, size, size, generator=gen)
    blocks = torch.randint(0, NUM_CLASSES, (num, size // 8, size // 8), generator=gen)
    labels = blocks.repeat_interleave(8, 1).repeat_interleave(8, 2)
    samples = []
    for label in labels:
        sample = SegDataSample(gt_sem_seg=PixelData(data=label[None]))
        sample.set_metainfo(dict(img_shape=(size, size), ori_shape=(size, size),
                                 pad_shape=(size, size), padding_size=[0, 0, 0, 0]))
        samples.append(sample)
    return inputs, samples
