"""``UnlabelledImageFolder``: every image under one or more folders, for self-supervised
pretraining (labels, masks and annotation files are never read)."""
from __future__ import annotations

import os
import os.path as osp
from typing import Sequence

from mmengine.dataset import BaseDataset
from mmengine.logging import print_log
from mmengine.registry import DATASETS
from PIL import Image

from .transforms import READ_ERRORS

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.tif', '.tiff', '.bmp')
CHECKS = ('decode', 'header', 'none')


def scan_folder(folder: str, extensions: Sequence[str]) -> tuple[list[str], int]:
    """Image files under ``folder`` (recursive, sorted, symlinks followed) and the number of
    other files that were passed over."""
    images, others = [], 0
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs.sort()
        for name in sorted(files):
            if name.lower().endswith(tuple(extensions)):
                images.append(osp.join(root, name))
            elif not name.startswith('.'):
                others += 1
    return images, others


def check_image(path: str, check: str) -> str:
    """``''`` when ``path`` passes ``check`` ('header': PIL identifies it; 'decode': it decodes
    fully), else the reason."""
    try:
        with Image.open(path) as img:
            if check == 'decode':
                img.load()
    except READ_ERRORS as err:
        return f'{type(err).__name__}: {err}'
    return ''


@DATASETS.register_module()
class UnlabelledImageFolder(BaseDataset):
    """Images found recursively under ``data_root/<sub_dir>`` for each of ``sub_dirs``.

    Each sample is ``dict(img_path=...)`` before the pipeline (which starts with ``LoadImage``).

    Args:
        data_root: root folder.
        sub_dirs: folders under ``data_root`` to scan (``''`` = the root itself), e.g.
            ``['aerial_dubai/image', 'isbi_em/train/image', 'isbi_em/test/image']``.
        extensions: file endings taken as images (case-insensitive); other files are counted
            and passed over.
        check: ``'decode'`` decodes every file once at start-up, ``'header'`` only identifies
            it (fast; a file that fails to decode later is skipped with a warning by
            ``LoadImage``), ``'none'`` trusts the extension. Files that fail are reported with
            their count and the first few paths, and left out.
        **kwargs: ``pipeline``, ``indices``, ``serialize_data``, ... of mmengine's BaseDataset.

    Raises:
        FileNotFoundError: a folder does not exist.
        ValueError: no image file at all, or none that can be read.
    """

    def __init__(self, data_root: str, sub_dirs: Sequence[str] = ('',),
                 extensions: Sequence[str] = IMG_EXTENSIONS, check: str = 'decode',
                 **kwargs) -> None:
        if check not in CHECKS:
            raise ValueError(f'check must be one of {CHECKS}, got {check!r}')
        if isinstance(sub_dirs, str) or not sub_dirs:
            raise ValueError(f'sub_dirs must be a non-empty list of folders, got {sub_dirs!r}')
        self.sub_dirs = list(sub_dirs)
        self.extensions = tuple(e.lower() for e in extensions)
        self.check = check
        self.skipped: list[tuple[str, str]] = []
        super().__init__(data_root=data_root, **kwargs)

    def load_data_list(self) -> list[dict]:
        images, others = [], 0
        for sub_dir in self.sub_dirs:
            folder = osp.join(self.data_root, sub_dir)
            if not osp.isdir(folder):
                raise FileNotFoundError(f'{type(self).__name__}: folder {folder!r} does not exist')
            found, passed = scan_folder(folder, self.extensions)
            images += found
            others += passed
        where = ', '.join(repr(osp.join(self.data_root, d)) for d in self.sub_dirs)
        if not images:
            raise ValueError(f'{type(self).__name__}: no image files ({", ".join(self.extensions)}) '
                             f'under {where} ({others} other files)')
        if self.check != 'none':
            reasons = [(path, check_image(path, self.check)) for path in images]
            self.skipped = [(path, why) for path, why in reasons if why]
            images = [path for path, why in reasons if not why]
        if self.skipped:
            first = '; '.join(f'{path} ({why})' for path, why in self.skipped[:5])
            print_log(f'{type(self).__name__}: skipped {len(self.skipped)} unreadable image files '
                      f'under {where}: {first}{" ..." if len(self.skipped) > 5 else ""}',
                      logger='current', level=30)
        if not images:
            raise ValueError(f'{type(self).__name__}: none of the {len(self.skipped)} image files '
                             f'under {where} can be read')
        print_log(f'{type(self).__name__}: {len(images)} images under {where} '
                  f'({len(self.skipped)} unreadable skipped, {others} non-image files ignored)',
                  logger='current')
        return [dict(img_path=path) for path in images]
