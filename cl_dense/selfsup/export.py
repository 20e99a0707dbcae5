"""The backbone of a pretraining model's state dict, written as an mmengine checkpoint that the
same backbone type in mmseg/mmdet loads strictly (``init_cfg=dict(type='Pretrained', ...)``).

Shared by ``tools/model_converters/detco_to_backbone.py`` (from a checkpoint file) and
:class:`cl_dense.selfsup.export_hook.BackboneExportHook` (from the model at the end of training).
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Mapping, Optional

import torch

PREFIX = 'query_encoder.backbone.'
# where the trained (query / online) backbone lives: cl_dense.selfsup models, then the plain
# ``backbone.`` of mmpretrain's self-supervised models, GLCNet and mmseg/mmdet models
PREFIXES = (PREFIX, 'backbone.')


def find_prefix(state_dict: Mapping[str, torch.Tensor]) -> str:
    """The first of :data:`PREFIXES` that keys of ``state_dict`` start with (raises if none)."""
    for prefix in PREFIXES:
        if any(k.startswith(prefix) for k in state_dict):
            return prefix
    raise ValueError(f'no backbone entries ({" or ".join(p + "*" for p in PREFIXES)}) in the '
                     f'checkpoint; give --prefix (first keys: {list(state_dict)[:3]})')


def extract_backbone(state_dict: Mapping[str, torch.Tensor], prefix: str = PREFIX) -> OrderedDict:
    """The entries under ``prefix`` with the prefix removed (raises if there are none)."""
    backbone = OrderedDict((k[len(prefix):], v) for k, v in state_dict.items()
                           if k.startswith(prefix))
    if not backbone:
        raise ValueError(f'no "{prefix}*" entries in the checkpoint; is it a cl_dense.selfsup '
                         f'model? (first keys: {list(state_dict)[:3]})')
    return backbone


def save_backbone(state_dict: Mapping[str, torch.Tensor], out: str | Path,
                  prefix: Optional[str] = None, meta: Optional[dict] = None) -> OrderedDict:
    """Write the backbone of a model's ``state_dict`` (its entries under ``prefix``, found by
    :func:`find_prefix` when ``None``) to ``out`` as ``{'state_dict', 'meta'}`` (tensors
    detached, on the CPU); ``meta`` gains the prefix. Returns the backbone state dict."""
    prefix = prefix or find_prefix(state_dict)
    backbone = OrderedDict((k, v.detach().cpu()) for k, v in
                           extract_backbone(state_dict, prefix).items())
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    torch.save({'state_dict': backbone, 'meta': {**(meta or {}), 'prefix': prefix}}, str(out))
    return backbone
