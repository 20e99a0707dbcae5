"""Export the backbone of a self-supervised pretraining checkpoint (DetCo and the other
``cl_dense.selfsup`` methods, mmpretrain's SimCLR/SwAV/BYOL, an mmseg segmentor).

    python tools/model_converters/detco_to_backbone.py CHECKPOINT OUT.pth [--torchvision TV.pth]
        [--prefix PREFIX]

The backbone's entries are found under the first of ``cl_dense.selfsup.export.PREFIXES`` that the
checkpoint has (``--prefix`` names another). Pretraining configs with ``BackboneExportHook`` (the
CPU configs, ``tools/pretrain.py``) write the same file at the end of training.

``OUT.pth`` is an mmengine checkpoint (``{'state_dict', 'meta'}``) of the backbone alone: the same
backbone type in mmseg/mmdet loads it with no missing or unexpected keys, e.g.
``backbone=dict(..., init_cfg=dict(type='Pretrained', checkpoint='OUT.pth'))``. ``--torchvision``
also writes a plain state dict for ``torchvision.models.resnet{18,34,50,101,152}`` (only for a
plain ResNet of torchvision's widths: no deep stem).
"""
from __future__ import annotations

import argparse
import re
import sys
from collections import OrderedDict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cl_dense.engine.checkpoint import load_local_checkpoint_safely  # noqa: E402
# the export logic lives in the package (BackboneExportHook uses it too); re-exported here
from cl_dense.selfsup.export import (PREFIX, PREFIXES, extract_backbone,  # noqa: E402,F401
                                     find_prefix, save_backbone)

# blocks per stage -> depth (34 and 50 share (3, 4, 6, 3); bottlenecks have conv3)
DEPTHS = {(2, 2, 2, 2): 18, (3, 4, 6, 3): 34, (3, 4, 23, 3): 101, (3, 8, 36, 3): 152}


def resnet_depth(backbone: dict) -> int:
    """The torchvision ResNet depth matching ``backbone``'s blocks; raises for other layouts."""
    if any(k.startswith('stem.') for k in backbone) or 'conv1.weight' not in backbone:
        raise ValueError('torchvision format needs a plain ResNet (conv1/bn1 stem, e.g. '
                         'mmseg.ResNet or mmdet.ResNet); this backbone has a deep stem or another '
                         'layout')
    blocks = []
    for stage in range(1, 5):
        ids = {int(m.group(1)) for k in backbone
               for m in [re.match(rf'layer{stage}\.(\d+)\.', k)] if m}
        blocks.append(len(ids))
    depth = DEPTHS.get(tuple(blocks))
    if depth is None:
        raise ValueError(f'blocks per stage {blocks} match no torchvision ResNet')
    if depth == 34 and 'layer1.0.conv3.weight' in backbone:
        depth = 50
    return depth


def to_torchvision(backbone: dict) -> OrderedDict:
    """Check that ``backbone`` loads into ``torchvision.models.resnet<depth>`` with only ``fc``
    missing (same names and shapes) and return it."""
    import torchvision

    model = getattr(torchvision.models, f'resnet{resnet_depth(backbone)}')(weights=None)
    expected = model.state_dict()
    extra = sorted(set(backbone) - set(expected))
    missing = sorted(set(expected) - set(backbone) - {'fc.weight', 'fc.bias'})
    wrong = [k for k in backbone if k in expected and expected[k].shape != backbone[k].shape]
    if extra or missing or wrong:
        raise ValueError(f'not a torchvision ResNet layout: unexpected {extra[:5]}, missing '
                         f'{missing[:5]}, other shapes {wrong[:5]} (torchvision ResNets have 64 '
                         'base channels)')
    return OrderedDict(backbone)


def convert(checkpoint: str, out: str, torchvision_out: str | None = None,
            prefix: str | None = None) -> OrderedDict:
    """Write the backbone of ``checkpoint`` (its entries under ``prefix``, found by
    :func:`find_prefix` when ``None``) to ``out`` (and ``torchvision_out``); returns it."""
    ckpt = load_local_checkpoint_safely(checkpoint, map_location='cpu')
    meta = dict(source=str(checkpoint))
    meta.update({key: ckpt['meta'][key] for key in ('epoch', 'iter') if key in ckpt.get('meta', {})})
    backbone = save_backbone(ckpt.get('state_dict', ckpt), out, prefix, meta)
    if torchvision_out:
        torch.save(to_torchvision(backbone), torchvision_out)
    return backbone


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoint', help='pretraining checkpoint (work_dir/iter_N.pth)')
    parser.add_argument('out', help='backbone checkpoint to write (mmengine format)')
    parser.add_argument('--torchvision', metavar='PATH', help='also write a torchvision '
                        'ResNet state dict (plain ResNets only)')
    parser.add_argument('--prefix', help=f'key prefix of the backbone (default: the first '
                        f'present of {", ".join(PREFIXES)})')
    args = parser.parse_args(argv)
    try:
        backbone = convert(args.checkpoint, args.out, args.torchvision, args.prefix)
    except (FileNotFoundError, ValueError) as err:
        sys.exit(f'error: {err}')
    print(f'wrote {len(backbone)} backbone tensors to {args.out}'
          + (f' and {args.torchvision}' if args.torchvision else ''))


if __name__ == '__main__':
    main()
