"""A tiny DetCo (8-channel ResNetV1c-18, 16-d heads) and random multi-view batches for tests."""
import torch
from mmengine.registry import MODELS

import cl_dense.selfsup  # noqa: F401  (registers DetCo)

TINY_BACKBONE = dict(type='mmseg.ResNetV1c', depth=18, stem_channels=8, base_channels=8,
                     out_indices=(0, 1, 2, 3))


def tiny_detco(**overrides) -> torch.nn.Module:
    """DetCo on the tiny backbone, initialised (query encoder then copied into the key one)."""
    cfg = dict(type='DetCo', backbone=TINY_BACKBONE, head=dict(hidden_dim=32, out_dim=16),
               queue_size=12)
    cfg.update(overrides)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def multiview_batch(batch: int = 4, side: int = 32, patch: int = 16, seed: int = 0) -> dict:
    """``data`` as the dataloader gives it: per-sample uint8 views and jigsaw permutations."""
    gen = torch.Generator().manual_seed(seed)

    def images(*shape):
        return [torch.randint(0, 256, shape, dtype=torch.uint8, generator=gen)
                for _ in range(batch)]

    perms = [torch.stack([torch.randperm(9, generator=gen) for _ in range(2)])
             for _ in range(batch)]
    return {'inputs': {'global': images(2, 3, side, side), 'jigsaw': images(2, 9, 3, patch, patch),
                       'jigsaw_perm': perms}}
