"""Transforms of self-supervised pretraining: image loading, torchvision augmentations, jigsaw
patches and multi-view packing. Registered in mmengine's root ``TRANSFORMS``.

Every transform maps a results dict to a results dict (``None`` = skip this sample). Images are
``uint8`` tensors ``[C, H, W]``; randomness comes from torch's global generator, so a pipeline is
deterministic under ``torch.manual_seed`` (mmengine seeds it, and each dataloader worker).
"""
from __future__ import annotations

import copy
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.dataset import Compose
from mmengine.logging import print_log
from mmengine.registry import TRANSFORMS
from PIL import Image, UnidentifiedImageError
from torch import Tensor

READ_ERRORS = (OSError, UnidentifiedImageError, ValueError, SyntaxError)


def pil_to_uint8_array(img: Image.Image, channels: int) -> np.ndarray:
    """``[H, W, channels]`` uint8 from any PIL mode.

    Grey and palette images are replicated to 3 channels when ``channels == 3``; 16-bit and float
    images (``I;16``, ``I``, ``F``) are min-max scaled to 0..255 per image first (our choice).
    """
    if img.mode in ('I;16', 'I;16B', 'I;16L', 'I', 'F'):
        arr = np.asarray(img, dtype=np.float32)
        low, high = float(arr.min()), float(arr.max())
        arr = (arr - low) * (255.0 / (high - low)) if high > low else np.zeros_like(arr)
        img = Image.fromarray(arr.round().astype(np.uint8), mode='L')
    img = img.convert('RGB' if channels == 3 else 'L')
    arr = np.asarray(img, dtype=np.uint8)
    return arr if arr.ndim == 3 else arr[:, :, None]


def read_image(path: str, channels: int = 3) -> Tensor:
    """Decode ``path`` to a ``uint8 [channels, H, W]`` tensor; raises the decoder's error."""
    with Image.open(path) as img:
        arr = pil_to_uint8_array(img, channels)
    return torch.from_numpy(arr.transpose(2, 0, 1).copy())


@TRANSFORMS.register_module()
class LoadImage:
    """Read ``results['img_path']`` into ``results['img']`` (``uint8 [channels, H, W]``).

    Args:
        channels: 3 (grey images replicated, alpha dropped) or 1 (colour converted to grey).

    A file that cannot be decoded gives ``None`` (mmengine's dataset then draws another sample)
    after a warning naming the file and the number of such files seen in this process.
    """

    def __init__(self, channels: int = 3) -> None:
        if channels not in (1, 3):
            raise ValueError(f'channels must be 1 or 3, got {channels!r}')
        self.channels = channels
        self.failures = 0

    def __call__(self, results: dict) -> Optional[dict]:
        path = results['img_path']
        try:
            img = read_image(path, self.channels)
        except READ_ERRORS as err:
            self.failures += 1
            print_log(f'LoadImage: skipped unreadable image {path} ({type(err).__name__}: {err}); '
                      f'{self.failures} unreadable so far in this process', logger='current',
                      level=30)
            return None
        results['img'] = img
        results['ori_shape'] = tuple(img.shape[1:])
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(channels={self.channels})'


def build_torchvision(cfg: dict):
    """A ``torchvision.transforms.v2`` transform from ``dict(type=name, **kwargs)``; nested
    ``transforms`` lists (``RandomApply``, ``RandomChoice``, ``Compose``) are built recursively."""
    from torchvision.transforms import v2

    cfg = dict(cfg)
    name = cfg.pop('type')
    cls = getattr(v2, name, None)
    if cls is None:
        raise ValueError(f'torchvision.transforms.v2 has no transform {name!r}')
    if 'transforms' in cfg:
        cfg['transforms'] = [build_torchvision(c) for c in cfg['transforms']]
    return cls(**cfg)


@TRANSFORMS.register_module()
class TorchvisionAugment:
    """Apply a list of ``torchvision.transforms.v2`` transforms (given as dicts, e.g.
    ``dict(type='RandomResizedCrop', size=224, scale=(0.2, 1.0))``) to ``results['img']``."""

    def __init__(self, transforms: Sequence[dict]) -> None:
        from torchvision.transforms import v2

        self.transform = v2.Compose([build_torchvision(c) for c in transforms])

    def __call__(self, results: dict) -> dict:
        results['img'] = self.transform(results['img'])
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.transform})'


def jigsaw_patches(img: Tensor, grid: int, cell_size: int, patch_size: int) -> tuple[Tensor, Tensor]:
    """Cut ``img [C, grid*cell_size, grid*cell_size]`` into ``grid x grid`` cells (row-major), take
    a random ``patch_size`` crop of each cell and shuffle the patches.

    Returns:
        ``patches [grid*grid, C, patch_size, patch_size]`` and ``perm [grid*grid]`` (int64) with
        ``patches[i]`` cut from cell ``perm[i]``; ``patches[argsort(perm)]`` is in cell order.
    """
    side = grid * cell_size
    if img.dim() != 3 or tuple(img.shape[1:]) != (side, side):
        raise ValueError(f'jigsaw needs a [C, {side}, {side}] image (grid {grid} x cell '
                         f'{cell_size}), got {tuple(img.shape)}')
    num = grid * grid
    offsets = torch.randint(0, cell_size - patch_size + 1, (num, 2))
    cells = torch.arange(num)
    tops = (cells // grid) * cell_size + offsets[:, 0]
    lefts = (cells % grid) * cell_size + offsets[:, 1]
    patches = torch.stack([img[:, t:t + patch_size, l:l + patch_size]
                           for t, l in zip(tops.tolist(), lefts.tolist())])
    perm = torch.randperm(num)
    return patches[perm], perm


@TRANSFORMS.register_module()
class Jigsaw:
    """3x3 jigsaw of DetCo's local views: ``results['img'] [C, 255, 255]`` (e.g. after a 255 px
    random-resized crop) becomes ``[9, C, 64, 64]`` shuffled patches, ``results['perm'] [9]``.

    Each call draws its own crop offsets and permutation (one per sample, never per batch).
    """

    def __init__(self, grid: int = 3, cell_size: int = 85, patch_size: int = 64) -> None:
        if not 1 <= patch_size <= cell_size or grid < 1:
            raise ValueError(f'need grid >= 1 and 1 <= patch_size <= cell_size, got grid={grid}, '
                             f'cell_size={cell_size}, patch_size={patch_size}')
        self.grid, self.cell_size, self.patch_size = grid, cell_size, patch_size

    def __call__(self, results: dict) -> dict:
        results['img'], results['perm'] = jigsaw_patches(results['img'], self.grid,
                                                         self.cell_size, self.patch_size)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(grid={self.grid}, cell_size={self.cell_size}, '
                f'patch_size={self.patch_size})')


@TRANSFORMS.register_module()
class MultiView:
    """Several randomly augmented views of one image, packed as model inputs.

    Args:
        views: one dict per view kind: ``name`` (the input key), ``num`` (views of that kind) and
            ``pipeline`` (transforms run on a copy of the results, each view independently);
            e.g. DetCo's ``[dict(name='global', num=2, pipeline=[...]),
            dict(name='jigsaw', num=2, pipeline=[..., dict(type='Jigsaw')])]``.
        extra_keys: other tensor keys a view pipeline writes, packed as ``'{name}_{key}'``
            (e.g. the jigsaw's ``perm`` -> ``'jigsaw_perm'``).

    Output: ``results['inputs'] = {name: Tensor[num, ...] (stacked 'img' of the views),
    '{name}_{key}': Tensor[num, ...]}``; ``results['img']`` is removed.
    """

    def __init__(self, views: Sequence[dict], extra_keys: Sequence[str] = ('perm',)) -> None:
        self.views = []
        for view in views:
            unknown = set(view) - {'name', 'num', 'pipeline'}
            if unknown or 'name' not in view or int(view.get('num', 1)) < 1:
                raise ValueError(f'each view needs name, num >= 1 and pipeline; got {view!r}')
            self.views.append((view['name'], int(view.get('num', 1)),
                               Compose(view.get('pipeline', []))))
        self.extra_keys = tuple(extra_keys)

    def __call__(self, results: dict) -> Optional[dict]:
        inputs = {}
        for name, num, pipeline in self.views:
            outs = []
            for _ in range(num):
                out = pipeline(copy.copy(results))
                if out is None:
                    return None
                outs.append(out)
            inputs[name] = torch.stack([out['img'] for out in outs])
            for key in self.extra_keys:
                if key in outs[0]:
                    inputs[f'{name}_{key}'] = torch.stack([out[key] for out in outs])
        results.pop('img', None)
        results['inputs'] = inputs
        return results

    def __repr__(self) -> str:
        views = ', '.join(f'{name} x{num}: {pipeline}' for name, num, pipeline in self.views)
        return f'{type(self).__name__}({views})'
