"""Decode RGB colour-coded segmentation masks into class-index maps on load."""
from typing import Dict, Optional, Sequence

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine import fileio
from mmseg.registry import TRANSFORMS


def rgb_to_labels(mask: np.ndarray, palette: Sequence[Sequence[int]],
                  ignore_index: int = 255) -> np.ndarray:
    """Map each pixel's exact RGB colour to the index of that colour in ``palette``.

    Args:
        mask: ``[H, W, 3]`` uint8 RGB mask.
        palette: ``[C][3]`` RGB colour of each class; class ``i`` has colour ``palette[i]``.
        ignore_index: label of pixels whose colour is not in the palette.

    Returns:
        ``[H, W]`` uint8 label map with values in ``{0..C-1, ignore_index}``.
    """
    if mask.ndim != 3 or mask.shape[2] != 3:
        raise ValueError(f'expected an [H, W, 3] RGB mask, got shape {mask.shape}')
    if len(palette) > ignore_index:
        raise ValueError(f'{len(palette)} classes do not fit below ignore_index={ignore_index}')
    rgb = mask.astype(np.int32)
    code = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    labels = np.full(code.shape, ignore_index, dtype=np.uint8)
    for index, (r, g, b) in enumerate(palette):
        labels[code == ((r << 16) | (g << 8) | b)] = index
    return labels


@TRANSFORMS.register_module()
class LoadColorMaskAnnotations(BaseTransform):
    """Load an RGB colour mask as ``gt_seg_map`` (class indices), like mmseg's ``LoadAnnotations``.

    The colour of class ``i`` is ``results['mask_palette'][i]`` (put there by the dataset, e.g.
    :class:`AerialDubaiDataset`); colours outside the palette (e.g. black) become ``ignore_index``.
    Palette-mode ('P') PNGs are converted to RGB first. A dataset ``label_map`` (class subsets)
    is applied afterwards, as mmseg does.

    Required keys: ``seg_map_path``, ``mask_palette``, ``seg_fields``.
    Added keys: ``gt_seg_map`` (``[H, W]`` uint8).
    """

    def __init__(self, ignore_index: int = 255, backend_args: Optional[dict] = None) -> None:
        self.ignore_index = ignore_index
        self.backend_args = backend_args

    def transform(self, results: Dict) -> Dict:
        if 'mask_palette' not in results:
            raise KeyError('LoadColorMaskAnnotations needs results["mask_palette"] (the RGB colour '
                           'of each class); use it with a dataset that provides it, such as '
                           'AerialDubaiDataset')
        if results.get('reduce_zero_label'):
            raise ValueError('LoadColorMaskAnnotations does not support reduce_zero_label=True')
        data = fileio.get(results['seg_map_path'], backend_args=self.backend_args)
        mask = mmcv.imfrombytes(data, flag='color', channel_order='rgb', backend='pillow')
        labels = rgb_to_labels(mask, results['mask_palette'], self.ignore_index)
        label_map = results.get('label_map')
        if label_map is not None:
            original = labels.copy()
            for old, new in label_map.items():
                labels[original == old] = new
        results['gt_seg_map'] = labels
        results['seg_fields'].append('gt_seg_map')
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(ignore_index={self.ignore_index})'
