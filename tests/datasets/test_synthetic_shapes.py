"""The built-in demo dataset: deterministic, every class present, masks consistent with images."""
import numpy as np
import pytest
from PIL import Image

from cl_dense.seg.datasets.shapes_generator import CLASSES, ensure_split, render_split


def _arrays(split='train', n=30, size=64, seed=0):
    return [(img, lab) for _, img, lab in render_split(split, n, size, seed)]


def test_generation_is_deterministic_and_seed_dependent():
    first, again, other = _arrays(seed=0), _arrays(seed=0), _arrays(seed=1)
    assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(first, again))
    assert not all(np.array_equal(a[0], b[0]) for a, b in zip(first, other))


def test_splits_differ():
    train, val = _arrays('train', 5), _arrays('val', 5)
    assert not any(np.array_equal(t[0], v[0]) for t, v in zip(train, val))


def test_every_class_present_and_labels_in_range():
    labels = np.stack([lab for _, lab in _arrays(n=30)])
    assert set(np.unique(labels).tolist()) == set(range(len(CLASSES)))


def test_masks_are_consistent_with_images():
    """Every labelled object's pixels have its class's hue (texture changes brightness only)."""
    from matplotlib.colors import rgb_to_hsv

    from cl_dense.seg.datasets.shapes_generator import _CLASS_HUE

    for img, lab in _arrays(n=20):
        hue = rgb_to_hsv(img / 255.0)[..., 0] * 360
        for cls in np.unique(lab[lab > 0]):
            offset = (hue[lab == cls] - _CLASS_HUE[int(cls)] + 180) % 360 - 180
            assert abs(np.median(offset)) <= 30, f'class {cls} pixels do not have the class hue'


def test_ensure_split_writes_files_once(tmp_path):
    meta = ensure_split(tmp_path, 'train', 4, 32, 0)
    img = np.asarray(Image.open(tmp_path / 'img_dir' / 'train' / '00000.png'))
    lab = np.asarray(Image.open(tmp_path / 'ann_dir' / 'train' / '00000.png'))
    expected = next(render_split('train', 1, 32, 0))
    assert np.array_equal(img, expected[1]) and np.array_equal(lab, expected[2])
    mtime = meta.stat().st_mtime_ns
    ensure_split(tmp_path, 'train', 4, 32, 0)  # same parameters: nothing rewritten
    assert meta.stat().st_mtime_ns == mtime
    ensure_split(tmp_path, 'train', 3, 32, 0)  # other parameters: regenerated
    assert len(list((tmp_path / 'img_dir' / 'train').glob('*.png'))) == 3


def test_mmseg_dataset_loads_generated_samples(tmp_path):
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS

    init_default_scope('mmseg')

    import cl_dense.seg  # noqa: F401

    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'), dict(type='PackSegInputs')]
    dataset = DATASETS.build(dict(type='SyntheticShapesDataset', data_root=str(tmp_path), split='val',
                                  num_images=3, image_size=32, pipeline=pipeline))
    assert len(dataset) == 3 and dataset.metainfo['classes'] == CLASSES
    sample = dataset[1]
    expected = list(render_split('val', 3, 32, 0))[1]
    assert np.array_equal(sample['data_samples'].gt_sem_seg.data[0].numpy(), expected[2])
    # LoadImageFromFile gives BGR; PackSegInputs gives [C, H, W]
    assert np.array_equal(sample['inputs'].numpy().transpose(1, 2, 0)[..., ::-1], expected[1])


def test_dataset_rejects_missing_data_root():
    from mmseg.registry import DATASETS

    import cl_dense.seg  # noqa: F401

    with pytest.raises(ValueError, match='data_root'):
        DATASETS.build(dict(type='SyntheticShapesDataset', split='val', num_images=3, pipeline=[]))
