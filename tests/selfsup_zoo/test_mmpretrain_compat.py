"""cl_dense.selfsup.mmpretrain_compat: the numpy-2-safe adjust_hue equals mmcv's for the factors
mmcv handles, rotates the hue the other way for negative factors (checked against colorsys) and
is what mmpretrain's ColorJitter calls."""
import colorsys

import numpy as np
import pytest
from mmcv.image import photometric

from cl_dense.selfsup import mmpretrain_compat


def _image(seed: int = 0) -> np.ndarray:
    """Saturated, bright BGR colours (hue well defined) ``[16, 16, 3]`` uint8."""
    rng = np.random.default_rng(seed)
    hsv = np.stack([rng.uniform(0, 1, (16, 16)), rng.uniform(0.6, 1, (16, 16)),
                    rng.uniform(0.6, 1, (16, 16))], -1)
    rgb = np.array([[colorsys.hsv_to_rgb(*px) for px in row] for row in hsv])
    return (rgb[..., ::-1] * 255).round().astype(np.uint8)


def _colorsys_rotated(img: np.ndarray, turns: float) -> np.ndarray:
    """Independent reference: every pixel's hue rotated by ``turns`` in float HSV."""
    rgb = img[..., ::-1] / 255.0
    out = np.empty_like(rgb)
    for i, j in np.ndindex(rgb.shape[:2]):
        hue, sat, val = colorsys.rgb_to_hsv(*rgb[i, j])
        out[i, j] = colorsys.hsv_to_rgb((hue + turns) % 1.0, sat, val)
    return (out[..., ::-1] * 255).round()


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_adjust_hue_equals_mmcv_for_non_negative_factors(backend):
    img = _image()
    for factor in (0.0, 0.1, 0.37, 0.5):
        assert np.array_equal(mmpretrain_compat.adjust_hue(img, factor, backend),
                              photometric.adjust_hue(img, factor, backend=backend)), factor


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_negative_factor_rotates_the_hue_backwards(backend):
    img, factor = _image(1), -0.1
    got = mmpretrain_compat.adjust_hue(img, factor, backend).astype(float)
    # numpy 1's cast: trunc(-25.5) = -25 steps of a 256-step turn
    want = _colorsys_rotated(img, -25 / 256)
    assert np.abs(got - want).mean() < 2.0 and np.abs(got - want).max() <= 12
    for wrong in (img.astype(float), _colorsys_rotated(img, 25 / 256)):  # no shift, other sign
        assert np.abs(got - wrong).mean() > 10


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match=r'hue_factor must be in \[-0.5, 0.5\]'):
        mmpretrain_compat.adjust_hue(_image(), 0.6, 'cv2')
    with pytest.raises(ValueError, match="backend must be 'cv2' or 'pillow'"):
        mmpretrain_compat.adjust_hue(_image(), 0.1, 'turbojpeg')


def test_mmpretrain_colour_jitter_runs_with_negative_hue_draws():
    """With mmcv's own adjust_hue, about half the draws of hue in [-0.2, 0.2] raise."""
    from mmpretrain.datasets.transforms import ColorJitter

    assert mmpretrain_compat.mmcv_hue_is_broken()  # numpy 2 + mmcv 2.1.0: else drop the module
    jitter = ColorJitter(hue=0.2)
    np.random.seed(0)
    for _ in range(8):
        out = jitter({'img': _image()})['img']
        assert out.shape == (16, 16, 3) and out.dtype == np.uint8
