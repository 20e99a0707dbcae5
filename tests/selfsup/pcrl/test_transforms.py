"""PCRLTransform: the target is the untransformed input (inverting the transform named by the code
gives it back), the code names the applied transform, packing by MultiView."""
import pytest
import torch

from cl_dense.selfsup import MultiView
from cl_dense.selfsup.pcrl import (CODE_DIM, PCRLTransform, invert_spatial_transform,
                                   spatial_transform)


def _decode(code: torch.Tensor) -> tuple[bool, bool, int, bool, bool]:
    """(flip_h, flip_v, rot_k, inpaint, outpaint) from a code, checking its layout."""
    assert code.shape == (CODE_DIM,) and set(code.tolist()) <= {0.0, 1.0}
    assert code[2:6].sum() == 1 and code[6:].sum() <= 1
    return bool(code[0]), bool(code[1]), int(code[2:6].argmax()), bool(code[6]), bool(code[7])


def test_spatial_transform_by_hand():
    img = torch.tensor([[[1, 2], [3, 4]]])
    assert spatial_transform(img, True, False, 0).tolist() == [[[2, 1], [4, 3]]]
    assert spatial_transform(img, False, True, 0).tolist() == [[[3, 4], [1, 2]]]
    # 90 degrees counter-clockwise: the right column becomes the top row
    assert spatial_transform(img, False, False, 1).tolist() == [[[2, 4], [1, 3]]]
    assert spatial_transform(img, True, False, 1).tolist() == [[[1, 3], [2, 4]]]


def _samples(num: int, **kwargs):
    transform = PCRLTransform(**kwargs)
    torch.manual_seed(0)
    for _ in range(num):
        img = torch.randint(0, 256, (3, 16, 16), dtype=torch.uint8)
        out = transform({'img': img.clone()})
        yield img, out


def test_target_is_the_input_and_the_code_inverts_the_view():
    seen = set()
    for img, out in _samples(40, paint_prob=0.0):
        assert out['target'].dtype == torch.uint8 and torch.equal(out['target'], img)
        flip_h, flip_v, rot_k, inpaint, outpaint = _decode(out['code'])
        assert not (inpaint or outpaint or out['paint_mask'].any())
        assert torch.equal(invert_spatial_transform(out['img'], flip_h, flip_v, rot_k), img)
        seen.add((flip_h, flip_v, rot_k))
    assert len(seen) >= 10  # flips and all rotations were drawn


def test_painting_changes_only_the_masked_pixels_and_is_coded():
    kinds = set()
    for img, out in _samples(30, paint_prob=1.0):
        flip_h, flip_v, rot_k, inpaint, outpaint = _decode(out['code'])
        assert inpaint != outpaint
        kinds.add(outpaint)
        mask = out['paint_mask']
        restored = invert_spatial_transform(out['img'], flip_h, flip_v, rot_k)
        kept = ~invert_spatial_transform(mask[None], flip_h, flip_v, rot_k)[0]
        assert torch.equal(restored[:, kept], img[:, kept])
        rows, cols = torch.where(~mask if outpaint else mask)
        if outpaint:  # out-painting keeps exactly one box: the kept pixels fill their bounding box
            box = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
            assert box == (~mask).sum() and 0 < (~mask).float().mean() <= 0.49
        else:  # at most 3 boxes of at most 30% x 30%
            assert 0 < mask.float().mean() <= 3 * 0.09 + 1e-6
    assert kinds == {False, True}


def test_bad_input_and_arguments_are_named():
    with pytest.raises(ValueError, match='square'):
        PCRLTransform()({'img': torch.zeros(3, 16, 32, dtype=torch.uint8)})
    out = PCRLTransform(rotate=False)({'img': torch.zeros(3, 16, 32, dtype=torch.uint8)})
    assert out['img'].shape == (3, 16, 32) and out['code'][2] == 1
    with pytest.raises(ValueError, match='uint8'):
        PCRLTransform()({'img': torch.zeros(3, 16, 16)})
    with pytest.raises(ValueError, match='paint_prob'):
        PCRLTransform(paint_prob=1.5)
    with pytest.raises(ValueError, match='box_frac'):
        PCRLTransform(box_frac=(0.5, 0.2))


def test_multiview_packs_views_targets_and_codes():
    pack = MultiView([dict(name='view', num=2, pipeline=[dict(type='PCRLTransform')])],
                     extra_keys=('target', 'code'))
    img = torch.randint(0, 256, (3, 16, 16), dtype=torch.uint8)
    inputs = pack({'img': img})['inputs']
    assert set(inputs) == {'view', 'view_target', 'view_code'}
    assert inputs['view'].shape == inputs['view_target'].shape == (2, 3, 16, 16)
    assert inputs['view_code'].shape == (2, CODE_DIM)
    assert torch.equal(inputs['view_target'][0], img) and torch.equal(inputs['view_target'][1], img)
