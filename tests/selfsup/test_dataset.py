"""UnlabelledImageFolder: recursive scan, unreadable and non-image files, clear errors."""
import numpy as np
import pytest
from PIL import Image

from cl_dense.selfsup import UnlabelledImageFolder

from .log_capture import mmengine_messages


def _save(path, mode='RGB', size=(12, 10)):
    path.parent.mkdir(parents=True, exist_ok=True)
    channels = {'RGB': 3, 'L': 1}[mode]
    arr = np.random.default_rng(0).integers(0, 255, (size[1], size[0], channels), dtype=np.uint8)
    Image.fromarray(arr.squeeze(-1) if channels == 1 else arr, mode=mode).save(path)


def _folder(root):
    _save(root / 'a' / 'x.jpg', size=(200, 150))
    _save(root / 'a' / 'deep' / 'y.PNG', mode='L')
    _save(root / 'b' / 'z.tif')
    (root / 'a' / 'notes.txt').write_text('labels are unused')
    (root / 'a' / 'garbage.png').write_bytes(b'\x89PNG but not really')
    good = root / 'a' / 'x.jpg'
    (root / 'b' / 'truncated.jpg').write_bytes(good.read_bytes()[:len(good.read_bytes()) * 3 // 4])
    return root


def test_recursive_scan_skips_and_reports_unreadable_files(tmp_path):
    root = _folder(tmp_path / 'pool')
    with mmengine_messages() as messages:
        dataset = UnlabelledImageFolder(data_root=str(root), sub_dirs=['a', 'b'],
                                        pipeline=[dict(type='LoadImage')])
    assert any('skipped 2 unreadable image files' in m for m in messages), messages
    assert any('1 non-image files ignored' in m for m in messages), messages
    names = sorted(dataset.get_data_info(i)['img_path'].split('pool/')[1]
                   for i in range(len(dataset)))
    assert names == ['a/deep/y.PNG', 'a/x.jpg', 'b/z.tif']
    assert sorted(path.split('pool/')[1] for path, _ in dataset.skipped) == [
        'a/garbage.png', 'b/truncated.jpg']
    sample = dataset[0]
    assert sample['img'].shape[0] == 3
    header_only = UnlabelledImageFolder(data_root=str(root), sub_dirs=['a', 'b'], check='header')
    # the truncated JPEG has a valid header: only a full decode (or LoadImage later) catches it
    assert len(header_only) == 4 and len(header_only.skipped) == 1


def test_truncated_file_left_by_a_header_check_is_redrawn_not_returned(tmp_path):
    root = _folder(tmp_path / 'pool')
    dataset = UnlabelledImageFolder(data_root=str(root), sub_dirs=['b'], check='header',
                                    pipeline=[dict(type='LoadImage')])
    paths = [dataset[i]['img_path'] for i in range(len(dataset)) for _ in range(3)]
    assert all(p.endswith('z.tif') for p in paths)


def test_empty_or_unreadable_or_missing_folders_are_clear_errors(tmp_path):
    (tmp_path / 'empty').mkdir()
    (tmp_path / 'empty' / 'readme.md').write_text('x')
    with pytest.raises(ValueError, match='no image files'):
        UnlabelledImageFolder(data_root=str(tmp_path / 'empty'))
    (tmp_path / 'bad').mkdir()
    (tmp_path / 'bad' / 'a.jpg').write_bytes(b'junk')
    with pytest.raises(ValueError, match='none of the 1 image files'):
        UnlabelledImageFolder(data_root=str(tmp_path / 'bad'))
    with pytest.raises(FileNotFoundError, match='does not exist'):
        UnlabelledImageFolder(data_root=str(tmp_path), sub_dirs=['nope'])
    with pytest.raises(ValueError, match='check must be'):
        UnlabelledImageFolder(data_root=str(tmp_path), check='maybe')
