"""A tiny GLCNet (8-channel ResNetV1c-18-D8 + 16-channel ASPP head) and paired-view batches."""
import torch
from mmengine.registry import MODELS

import cl_dense.selfsup  # noqa: F401  (registers GLCNet)
from cl_dense.selfsup.glcnet import OverlappingViews

BN = dict(type='BN', requires_grad=True)
TINY_SEGMENTOR = dict(
    type='EncoderDecoder',
    backbone=dict(type='ResNetV1c', depth=18, stem_channels=8, base_channels=8,
                  strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4), out_indices=(0, 1, 2, 3),
                  norm_cfg=BN),
    decode_head=dict(type='ASPPHead', in_channels=64, in_index=3, channels=16, dilations=(1, 2),
                     num_classes=2, norm_cfg=BN))


def tiny_glcnet(**overrides) -> torch.nn.Module:
    cfg = dict(type='GLCNet', segmentor=TINY_SEGMENTOR, global_head=dict(hidden_dim=32, out_dim=16),
               local_head=dict(hidden_dim=32, out_dim=16), num_matches=4, window=1)
    cfg.update(overrides)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def paired_batch(batch: int = 4, side: int = 48, crop: int = 32, seed: int = 0) -> dict:
    """``data`` as the dataloader gives it: per-sample uint8 views and coordinate maps."""
    torch.manual_seed(seed)
    transform = OverlappingViews(crop)
    samples = [transform(dict(img=torch.randint(0, 256, (3, side, side), dtype=torch.uint8)))
               ['inputs'] for _ in range(batch)]
    return {'inputs': {key: [s[key] for s in samples] for key in ('views', 'coords')}}
