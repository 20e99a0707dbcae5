"""The built-in demo dataset: procedurally generated textured shapes, registered in mmseg."""
from __future__ import annotations

from mmengine.dist import barrier, get_rank
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .shapes_generator import CLASSES, PALETTE, ensure_split


@DATASETS.register_module()
class SyntheticShapesDataset(BaseSegDataset):
    """Textured discs, squares, triangles and rings on textured backgrounds (5 classes).

    The images are generated on first use under ``data_root`` (``img_dir/{split}``,
    ``ann_dir/{split}``; PNG, RGB images and uint8 label maps), deterministically from ``seed``:
    the same arguments always give the same pixels. In distributed runs rank 0 generates and the
    others wait. No pixel is ignored; class 0 is the background.

    Args:
        split: name of the split; different splits use different random streams.
        num_images: number of images in the split.
        image_size: side of the square images in pixels.
        seed: generation seed.
        **kwargs: passed to :class:`mmseg.datasets.BaseSegDataset` (``data_root``, ``pipeline``...).
    """

    METAINFO = dict(classes=CLASSES, palette=PALETTE)

    def __init__(self, split: str = 'train', num_images: int = 200, image_size: int = 96,
                 seed: int = 0, **kwargs) -> None:
        data_root = kwargs.get('data_root')
        if not data_root:
            raise ValueError('SyntheticShapesDataset needs a data_root to generate its images in')
        if num_images < 1 or image_size < 16:
            raise ValueError(f'num_images must be >= 1 and image_size >= 16, got {num_images}, {image_size}')
        if get_rank() == 0:
            ensure_split(data_root, split, num_images, image_size, seed)
        barrier()
        kwargs.setdefault('data_prefix', dict(img_path=f'img_dir/{split}', seg_map_path=f'ann_dir/{split}'))
        super().__init__(img_suffix='.png', seg_map_suffix='.png', reduce_zero_label=False, **kwargs)
