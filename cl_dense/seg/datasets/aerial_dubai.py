"""Aerial imagery of Dubai (MBRSC / Humans in the Loop), 6 classes, RGB colour masks."""
import re
from typing import List, Sequence

from mmseg.registry import DATASETS

from .split import FixedSplitSegDataset

_TILE_NAME = re.compile(r'^image_part_\d+t(\d+)$')


@DATASETS.register_module()
class AerialDubaiDataset(FixedSplitSegDataset):
    """The 72 tiles of the Dubai aerial dataset, with a fixed split by tile.

    Layout: ``{data_root}/image/image_part_XXXtN.jpg`` and ``{data_root}/mask/image_part_XXXtN.png``
    (N = tile). The masks are RGB colour masks: load them with ``LoadColorMaskAnnotations``; every
    data info carries the class colours as ``mask_palette``. Black and any colour not in
    ``METAINFO['palette']`` are ignored (255).

    Split: ``val`` = the 9 images of tile 8 (a large tile where all 6 classes occur, including
    Water and Unlabeled); ``train`` = the 63 images of tiles 1-7; ``all`` = 72. For tuning with a
    held-out split: ``val_tiles=(7,), test_tiles=(8,)`` (train = tiles 1-6, 54 images).

    Args:
        split: ``'train'``, ``'val'``, ``'test'`` or ``'all'``.
        val_tiles: tile numbers that form the validation split.
        test_tiles: tile numbers that form the held-out test split (none by default).
        **kwargs: see :class:`FixedSplitSegDataset` (``label_fraction``, ``subset_seed``...).
    """

    METAINFO = dict(
        classes=('water', 'land', 'road', 'building', 'vegetation', 'unlabeled'),
        palette=[[226, 169, 41], [132, 41, 246], [110, 193, 228], [60, 16, 152],
                 [254, 221, 58], [155, 155, 155]])
    IMG_SUFFIX = '.jpg'
    SEG_MAP_SUFFIX = '.png'
    DATA_PREFIX = dict(img_path='image', seg_map_path='mask')

    def __init__(self, split: str = 'train', val_tiles: Sequence[int] = (8,),
                 test_tiles: Sequence[int] = (), **kwargs) -> None:
        super().__init__(split, val_tiles, test_tiles, **kwargs)

    @staticmethod
    def key_of(stem: str) -> int:
        """Tile number N of a file stem ``image_part_XXXtN``."""
        match = _TILE_NAME.match(stem)
        if match is None:
            raise ValueError(f'aerial_dubai file name {stem!r} is not of the form image_part_XXXtN')
        return int(match.group(1))

    def load_data_list(self) -> List[dict]:
        """This split's data infos, each with the class colours as ``mask_palette``."""
        data_list = super().load_data_list()
        palette = [list(colour) for colour in self.METAINFO['palette']]
        for info in data_list:
            info['mask_palette'] = palette
        return data_list
