"""ISBI 2012 electron-microscopy membrane segmentation (binary), 30 labelled slices."""
from typing import Dict, Optional, Sequence

from mmseg.registry import DATASETS

from .split import FixedSplitSegDataset


@DATASETS.register_module()
class IsbiEMDataset(FixedSplitSegDataset):
    """ISBI 2012 EM slices: ``{data_root}/train/image/N.png`` (grey) + ``train/label/N.png``.

    Label files hold 0 (membrane) and 255 (cell interior); they are mapped on load to the classes
    membrane = 0 and cell = 1 (255 is *not* ignored here), through the dataset ``label_map``
    ``{255: 1}`` that mmseg's ``LoadAnnotations`` applies.

    Split: ``val`` = slices 24-29 (a contiguous block at the end of the stack rather than every
    5th slice, so that few val slices have a near-identical train neighbour); ``train`` = slices
    0-23; ``all`` = 30.

    Args:
        split: ``'train'``, ``'val'``, ``'test'`` or ``'all'``.
        val_slices: slice numbers that form the validation split.
        test_slices: slice numbers that form a held-out test split (none by default).
        **kwargs: see :class:`FixedSplitSegDataset`.
    """

    METAINFO = dict(classes=('membrane', 'cell'), palette=[[0, 0, 0], [255, 255, 255]])
    IMG_SUFFIX = '.png'
    SEG_MAP_SUFFIX = '.png'
    DATA_PREFIX = dict(img_path='train/image', seg_map_path='train/label')

    def __init__(self, split: str = 'train', val_slices: Sequence[int] = tuple(range(24, 30)),
                 test_slices: Sequence[int] = (), **kwargs) -> None:
        super().__init__(split, val_slices, test_slices, **kwargs)

    @staticmethod
    def key_of(stem: str) -> int:
        """Slice number of a file stem such as ``'17'``."""
        if not stem.isdigit():
            raise ValueError(f'isbi_em file name {stem!r} is not a slice number')
        return int(stem)

    @classmethod
    def get_label_map(cls, new_classes: Optional[Sequence] = None) -> Dict[int, int]:
        """Raw label value -> class index: 255 (cell interior) -> 1; 0 (membrane) stays 0."""
        if new_classes is not None and list(new_classes) != list(cls.METAINFO['classes']):
            raise ValueError(f'IsbiEMDataset has the fixed classes {cls.METAINFO["classes"]}, '
                             f'got {new_classes}')
        return {255: 1}
