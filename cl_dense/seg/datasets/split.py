"""Datasets shipped as one flat folder, split by a number in each file name."""
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
from mmseg.datasets import BaseSegDataset

SPLITS = ('train', 'val', 'test', 'all')


def label_subset(num: int, fraction: float, seed: int) -> List[int]:
    """Sorted indices of a deterministic random ``fraction`` of ``num`` items (at least one).

    The same ``seed`` always gives the same subset, and the subset of a smaller fraction is a
    prefix of the same permutation, so budgets are nested (1/4 of the images is inside 1/2).
    """
    if not 0 < fraction <= 1:
        raise ValueError(f'label_fraction must lie in (0, 1], got {fraction}')
    keep = max(1, int(round(num * fraction)))
    order = np.random.RandomState(seed).permutation(num)
    return sorted(int(i) for i in order[:keep])


class FixedSplitSegDataset(BaseSegDataset):
    """A :class:`mmseg.datasets.BaseSegDataset` that keeps one split of its folder.

    Every file stem carries a number (a tile, a slice...) given by :meth:`key_of`; ``val`` holds the
    files whose number is in ``val_keys``, ``test`` those in ``test_keys`` (a held-out split, empty
    by default), ``train`` all others, ``all`` every file. ``label_fraction`` < 1 keeps a
    deterministic random subset of the ``train`` split (a label budget; see :func:`label_subset`).

    Subclasses set ``IMG_SUFFIX``, ``SEG_MAP_SUFFIX``, ``DATA_PREFIX`` (default ``data_prefix``)
    and implement :meth:`key_of`.

    Args:
        split: ``'train'``, ``'val'``, ``'test'`` or ``'all'``.
        val_keys: numbers that form the validation split.
        test_keys: numbers that form the held-out test split (disjoint from ``val_keys``).
        label_fraction: share of the ``train`` images kept (1 = all).
        subset_seed: seed of the ``label_fraction`` draw.
        data_prefix: image / mask folders under ``data_root``; ``None`` = ``DATA_PREFIX``.
        **kwargs: the other :class:`BaseSegDataset` arguments (``data_root``, ``pipeline``...).
    """

    IMG_SUFFIX: str
    SEG_MAP_SUFFIX: str
    DATA_PREFIX: dict

    def __init__(self, split: str, val_keys: Sequence[int], test_keys: Sequence[int] = (),
                 label_fraction: float = 1.0, subset_seed: int = 0,
                 data_prefix: Optional[dict] = None, **kwargs) -> None:
        if split not in SPLITS:
            raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
        if split == 'test' and not test_keys:
            raise ValueError("split='test' needs test_keys (the held-out numbers)")
        overlap = set(val_keys) & set(test_keys)
        if overlap:
            raise ValueError(f'val and test keys overlap: {sorted(overlap)}')
        if label_fraction != 1.0 and split != 'train':
            raise ValueError(f'label_fraction applies to the train split only, not {split!r}')
        self.split = split
        self.val_keys = frozenset(val_keys)
        self.test_keys = frozenset(test_keys)
        self.label_fraction = label_fraction
        self.subset_seed = subset_seed
        super().__init__(img_suffix=self.IMG_SUFFIX, seg_map_suffix=self.SEG_MAP_SUFFIX,
                         reduce_zero_label=False, data_prefix=data_prefix or dict(self.DATA_PREFIX),
                         **kwargs)

    @staticmethod
    def key_of(stem: str) -> int:
        """The split number of a file stem; raises ``ValueError`` for a name it cannot read."""
        raise NotImplementedError

    def split_of(self, key: int) -> str:
        """``'val'``, ``'test'`` or ``'train'``: the split a file number belongs to."""
        if key in self.val_keys:
            return 'val'
        return 'test' if key in self.test_keys else 'train'

    def load_data_list(self) -> List[dict]:
        """Scan the image folder and keep the samples of ``self.split``, in sorted order."""
        data_list = super().load_data_list()
        if self.split != 'all':
            data_list = [info for info in data_list
                         if self.split_of(self.key_of(Path(info['img_path']).stem)) == self.split]
        if self.split == 'train' and self.label_fraction < 1 and data_list:
            keep = label_subset(len(data_list), self.label_fraction, self.subset_seed)
            data_list = [data_list[i] for i in keep]
        if not data_list:
            raise FileNotFoundError(f'{type(self).__name__}: no {self.split!r} images under '
                                    f'{self.data_prefix.get("img_path")}')
        return data_list
