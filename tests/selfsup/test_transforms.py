"""Jigsaw patches, multi-view packing, grey-scale loading and torchvision augmentations."""
import numpy as np
import pytest
import torch
from PIL import Image

from cl_dense.selfsup import Jigsaw, LoadImage, MultiView, TorchvisionAugment, jigsaw_patches
from cl_dense.selfsup.encoder import unshuffle_patches

from .log_capture import mmengine_messages


def _image(side=255, channels=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (channels, side, side), dtype=torch.uint8, generator=gen)


def test_jigsaw_gives_nine_patches_cut_from_the_cells_of_their_permutation():
    img = _image()
    torch.manual_seed(3)
    patches, perm = jigsaw_patches(img, grid=3, cell_size=85, patch_size=64)
    assert patches.shape == (9, 3, 64, 64) and patches.dtype == torch.uint8
    assert sorted(perm.tolist()) == list(range(9))
    for i, cell in enumerate(perm.tolist()):
        row, col = divmod(cell, 3)
        cell_pixels = img[:, row * 85:(row + 1) * 85, col * 85:(col + 1) * 85]
        # the patch is some 64x64 window of its cell: find it by exhaustive search
        windows = cell_pixels.unfold(1, 64, 1).unfold(2, 64, 1)  # [C, 22, 22, 64, 64]
        match = (windows == patches[i][:, None, None]).flatten(3).all(-1).all(0)
        assert match.any(), f'patch {i} is not inside cell {cell}'
    # un-shuffling (as the encoder does on features) restores cell order
    ordered = unshuffle_patches(patches.flatten(1).unsqueeze(0), perm.unsqueeze(0))[0]
    assert torch.equal(ordered, patches[perm.argsort()].flatten(1))


def test_each_sample_gets_its_own_permutation_and_seed_makes_it_deterministic():
    jigsaw = Jigsaw()
    torch.manual_seed(0)
    perms = [jigsaw({'img': _image(seed=s)})['perm'] for s in range(8)]
    assert len({tuple(p.tolist()) for p in perms}) > 1
    torch.manual_seed(0)
    again = [jigsaw({'img': _image(seed=s)}) for s in range(8)]
    assert all(torch.equal(a['perm'], p) for a, p in zip(again, perms))
    torch.manual_seed(0)
    first = jigsaw({'img': _image(seed=0)})['img']
    assert torch.equal(first, again[0]['img'])


def test_jigsaw_rejects_wrong_sizes():
    with pytest.raises(ValueError, match='jigsaw needs'):
        Jigsaw()({'img': _image(side=224)})
    with pytest.raises(ValueError, match='patch_size'):
        Jigsaw(cell_size=30, patch_size=64)


def test_grey_and_16bit_images_load_as_three_channels(tmp_path):
    grey = np.arange(30 * 20, dtype=np.uint8).reshape(20, 30)
    Image.fromarray(grey, mode='L').save(tmp_path / 'em.png')
    img = LoadImage()({'img_path': str(tmp_path / 'em.png')})['img']
    assert img.shape == (3, 20, 30) and img.dtype == torch.uint8
    assert torch.equal(img[0], torch.from_numpy(grey)) and torch.equal(img[0], img[2])
    deep = (np.arange(20 * 30, dtype=np.uint16).reshape(20, 30) * 50)
    Image.fromarray(deep).save(tmp_path / 'xray.tif')
    img16 = LoadImage()({'img_path': str(tmp_path / 'xray.tif')})['img']
    assert img16.shape == (3, 20, 30) and int(img16.min()) == 0 and int(img16.max()) == 255
    one = LoadImage(channels=1)({'img_path': str(tmp_path / 'em.png')})['img']
    assert one.shape == (1, 20, 30)


def test_unreadable_image_is_skipped_with_a_warning(tmp_path):
    (tmp_path / 'bad.jpg').write_bytes(b'not an image')
    loader = LoadImage()
    with mmengine_messages() as messages:
        assert loader({'img_path': str(tmp_path / 'bad.jpg')}) is None
    assert loader.failures == 1
    assert any('skipped unreadable image' in m and 'bad.jpg' in m for m in messages), messages


def test_multiview_packs_global_views_and_jigsaw_sets():
    global_pipe = [dict(type='TorchvisionAugment', transforms=[
        dict(type='RandomResizedCrop', size=32, scale=(0.2, 1.0)),
        dict(type='RandomApply', transforms=[dict(type='ColorJitter', brightness=0.4,
                                                  contrast=0.4, saturation=0.4, hue=0.1)], p=0.8),
        dict(type='RandomGrayscale', p=0.2), dict(type='RandomHorizontalFlip')])]
    jigsaw_pipe = [dict(type='TorchvisionAugment', transforms=[
        dict(type='RandomResizedCrop', size=48, scale=(0.3, 1.0))]),
        dict(type='Jigsaw', cell_size=16, patch_size=12)]
    views = MultiView([dict(name='global', num=2, pipeline=global_pipe),
                       dict(name='jigsaw', num=2, pipeline=jigsaw_pipe)])
    torch.manual_seed(1)
    out = views({'img': _image(side=60), 'img_path': 'x'})
    inputs = out['inputs']
    assert 'img' not in out and out['img_path'] == 'x'
    assert inputs['global'].shape == (2, 3, 32, 32) and inputs['global'].dtype == torch.uint8
    assert inputs['jigsaw'].shape == (2, 9, 3, 12, 12) and inputs['jigsaw_perm'].shape == (2, 9)
    assert not torch.equal(inputs['global'][0], inputs['global'][1])  # independent views
    with pytest.raises(ValueError, match='each view needs'):
        MultiView([dict(num=2)])


def test_unknown_torchvision_transform_is_named():
    with pytest.raises(ValueError, match='NoSuchCrop'):
        TorchvisionAugment([dict(type='NoSuchCrop')])
