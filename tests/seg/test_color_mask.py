"""RGB colour masks decode to class indices; unknown colours become the ignore index."""
import numpy as np
import pytest
from PIL import Image

from cl_dense.seg.datasets import LoadColorMaskAnnotations
from cl_dense.seg.datasets.color_mask import rgb_to_labels

PALETTE = [[226, 169, 41], [132, 41, 246], [110, 193, 228]]


def test_rgb_to_labels_maps_exact_colours_and_ignores_the_rest():
    mask = np.array([[[226, 169, 41], [132, 41, 246], [110, 193, 228]],
                     [[0, 0, 0], [226, 169, 40], [110, 193, 228]]], dtype=np.uint8)
    labels = rgb_to_labels(mask, PALETTE)
    assert labels.dtype == np.uint8
    np.testing.assert_array_equal(labels, [[0, 1, 2], [255, 255, 2]])


def test_rgb_to_labels_rejects_a_grey_mask():
    with pytest.raises(ValueError, match='RGB mask'):
        rgb_to_labels(np.zeros((4, 4), dtype=np.uint8), PALETTE)


@pytest.mark.parametrize('mode', ['RGB', 'P'])
def test_transform_reads_rgb_and_palette_pngs_and_applies_label_map(tmp_path, mode):
    indices = np.array([[1, 2, 3], [0, 0, 0]], dtype=np.uint8)
    image = Image.frombytes('P', (3, 2), indices.tobytes())
    image.putpalette([0, 0, 0] + sum(PALETTE, []))
    if mode == 'RGB':
        image = image.convert('RGB')
    path = tmp_path / 'mask.png'
    image.save(path)
    results = dict(seg_map_path=str(path), mask_palette=PALETTE, seg_fields=[],
                   reduce_zero_label=False, label_map={2: 0, 0: 2})
    out = LoadColorMaskAnnotations()(results)
    np.testing.assert_array_equal(out['gt_seg_map'], [[2, 1, 0], [255, 255, 255]])
    assert out['seg_fields'] == ['gt_seg_map']


def test_transform_without_palette_names_the_problem(tmp_path):
    with pytest.raises(KeyError, match='mask_palette'):
        LoadColorMaskAnnotations()(dict(seg_map_path=str(tmp_path / 'x.png'), seg_fields=[]))
