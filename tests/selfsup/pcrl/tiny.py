"""A tiny PCRL (8-channel UNet with 4 stages, 16-d embeddings) and batches from PCRLTransform."""
import torch
from mmengine.registry import MODELS

import cl_dense.selfsup  # noqa: F401  (registers PCRL)
from cl_dense.selfsup.pcrl import PCRLTransform

TINY_UNET = dict(type='mmseg.UNet', base_channels=8, num_stages=4, strides=(1, 1, 1, 1),
                 enc_num_convs=(2, 2, 2, 2), dec_num_convs=(2, 2, 2), downsamples=(True,) * 3,
                 enc_dilations=(1,) * 4, dec_dilations=(1,) * 3)


def tiny_pcrl(**overrides) -> torch.nn.Module:
    """PCRL on the tiny UNet, initialised (online network copied into the momentum encoder)."""
    cfg = dict(type='PCRL', backbone=TINY_UNET, head=dict(hidden_dim=32, out_dim=16),
               queue_size=12, momentum=0.9)
    cfg.update(overrides)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def pcrl_batch(batch: int = 4, side: int = 32, seed: int = 0) -> dict:
    """``data`` as the dataloader gives it: per-sample uint8 views, targets and codes."""
    torch.manual_seed(seed)
    transform = PCRLTransform()
    samples = [[transform({'img': torch.randint(0, 256, (3, side, side), dtype=torch.uint8)})
                for _ in range(2)] for _ in range(batch)]
    return {'inputs': {f'view{suffix}': [torch.stack([view[key] for view in sample])
                                         for sample in samples]
                       for suffix, key in (('', 'img'), ('_target', 'target'),
                                           ('_code', 'code'))}}
