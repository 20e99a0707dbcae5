"""Held-out test split and label budgets of the fixed-split datasets (on a generated folder)."""
from pathlib import Path

import cv2
import numpy as np
import pytest

from cl_dense.seg.datasets import IsbiEMDataset
from cl_dense.seg.datasets.split import label_subset


@pytest.fixture
def slice_root(tmp_path: Path) -> str:
    """An isbi_em-shaped folder of 20 tiny slices named 0..19."""
    for sub in ('train/image', 'train/label'):
        (tmp_path / sub).mkdir(parents=True)
    for k in range(20):
        image = np.full((4, 4), k, np.uint8)
        cv2.imwrite(str(tmp_path / 'train/image' / f'{k}.png'), image)
        cv2.imwrite(str(tmp_path / 'train/label' / f'{k}.png'), image * 0 + 255)
    return str(tmp_path)


def _slices(dataset) -> list[int]:
    return sorted(int(Path(dataset.get_data_info(i)["img_path"]).stem) for i in range(len(dataset)))


def test_three_way_split_is_disjoint_and_complete(slice_root):
    kwargs = dict(data_root=slice_root, val_slices=(16, 17), test_slices=(18, 19))
    train = _slices(IsbiEMDataset(split='train', **kwargs))
    val = _slices(IsbiEMDataset(split='val', **kwargs))
    test = _slices(IsbiEMDataset(split='test', **kwargs))
    assert (val, test) == ([16, 17], [18, 19])
    assert train == list(range(16))


def test_label_budget_is_deterministic_nested_and_never_holds_out_data(slice_root):
    kwargs = dict(data_root=slice_root, val_slices=(16, 17), test_slices=(18, 19))
    quarter = _slices(IsbiEMDataset(split='train', label_fraction=0.25, subset_seed=3, **kwargs))
    half = _slices(IsbiEMDataset(split='train', label_fraction=0.5, subset_seed=3, **kwargs))
    again = _slices(IsbiEMDataset(split='train', label_fraction=0.25, subset_seed=3, **kwargs))
    other = _slices(IsbiEMDataset(split='train', label_fraction=0.25, subset_seed=4, **kwargs))
    assert quarter == again and len(quarter) == 4 and len(half) == 8
    assert set(quarter) <= set(half) and not set(half) & {16, 17, 18, 19}
    assert quarter != other


def test_label_subset_matches_a_hand_draw():
    order = np.random.RandomState(7).permutation(10)
    assert label_subset(10, 0.3, 7) == sorted(order[:3].tolist())
    assert label_subset(3, 0.01, 0) and len(label_subset(3, 0.01, 0)) == 1  # at least one image


def test_bad_split_arguments_raise(slice_root):
    with pytest.raises(ValueError, match='needs test_keys'):
        IsbiEMDataset(data_root=slice_root, split='test')
    with pytest.raises(ValueError, match='overlap'):
        IsbiEMDataset(data_root=slice_root, val_slices=(1, 2), test_slices=(2,))
    with pytest.raises(ValueError, match='train split only'):
        IsbiEMDataset(data_root=slice_root, split='val', label_fraction=0.5)
    with pytest.raises(ValueError, match=r'\(0, 1\]'):
        IsbiEMDataset(data_root=slice_root, split='train', label_fraction=0.0)
