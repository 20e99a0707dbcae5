"""Datasets shipped as one flat folder, split by a number in each file name."""
from pathlib import Path
from typing import List, Optional, Sequence

from mmseg.datasets import BaseSegDataset

SPLITS = ('train', 'val', 'all')


class FixedSplitSegDataset(BaseSegDataset):
    """A :class:`mmseg.datasets.BaseSegDataset` that keeps one split of its folder.

    Every file stem carries a number (a tile, a slice...) given by :meth:`key_of`; ``val`` holds the
    files whose number is in ``val_keys``, ``train`` all others, ``all`` every file.

    Subclasses set ``IMG_SUFFIX``, ``SEG_MAP_SUFFIX``, ``DATA_PREFIX`` (default ``data_prefix``)
    and implement :meth:`key_of`.

    Args:
        split: ``'train'``, ``'val'`` or ``'all'``.
        val_keys: numbers that form the validation split.
        data_prefix: image / mask folders under ``data_root``; ``None`` = ``DATA_PREFIX``.
        **kwargs: the other :class:`BaseSegDataset` arguments (``data_root``, ``pipeline``...).
    """

    IMG_SUFFIX: str
    SEG_MAP_SUFFIX: str
    DATA_PREFIX: dict

    def __init__(self, split: str, val_keys: Sequence[int], data_prefix: Optional[dict] = None,
                 **kwargs) -> None:
        if split not in SPLITS:
            raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
        self.split = split
        self.val_keys = frozenset(val_keys)
        super().__init__(img_suffix=self.IMG_SUFFIX, seg_map_suffix=self.SEG_MAP_SUFFIX,
                         reduce_zero_label=False, data_prefix=data_prefix or dict(self.DATA_PREFIX),
                         **kwargs)

    @staticmethod
    def key_of(stem: str) -> int:
        """The split number of a file stem; raises ``ValueError`` for a name it cannot read."""
        raise NotImplementedError

    def load_data_list(self) -> List[dict]:
        """Scan the image folder and keep the samples of ``self.split``, in sorted order."""
        data_list = super().load_data_list()
        if self.split != 'all':
            want_val = self.split == 'val'
            data_list = [info for info in data_list
                         if (self.key_of(Path(info['img_path']).stem) in self.val_keys) == want_val]
        if not data_list:
            raise FileNotFoundError(f'{type(self).__name__}: no {self.split!r} images under '
                                    f'{self.data_prefix.get("img_path")}')
        return data_list
