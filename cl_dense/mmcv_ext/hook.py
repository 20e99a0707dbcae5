"""Serve ``mmcv._ext`` from torch/torchvision kernels when mmcv has no compiled extension.

This file is standard-library only and is loaded by a one-line ``.pth`` file at interpreter start
(before any ``import mmcv``), so it must not import torch, mmcv or the ``cl_dense`` package itself.

Why a meta-path finder installed from a ``.pth`` file:

- ``mmcv.ops`` modules call ``mmcv.utils.ext_loader.load_ext('_ext', [...])``, which is a plain
  ``importlib.import_module('mmcv._ext')``. A finder appended to ``sys.meta_path`` answers exactly
  that name, and only when no earlier finder does: a compiled ``mmcv/_ext*.so`` (the full mmcv build)
  is found first by the normal path finder and always wins.
- A ``.pth`` line runs at every interpreter start in the environment, so the finder is in place
  however mmcv is first imported: our ``tools/train.py``, mmdet's or mmseg's own ``tools/train.py``,
  or a user's script that imports mmdet before cl_dense. ``import cl_dense`` installs it too, for
  environments where the ``.pth`` was not written.
- Nothing is written into mmcv's own package directory (uninstalling or upgrading mmcv stays clean),
  and the ``.pth`` names this file by absolute path and skips silently when it is gone.

The served module is built by :mod:`cl_dense.mmcv_ext.table` on first import of ``mmcv._ext``.

    python cl_dense/mmcv_ext/hook.py --install [SITE_DIR]   # write the .pth (default: purelib)
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import sysconfig
import types

EXT_NAME = 'mmcv._ext'
TABLE_MODULE = 'cl_dense.mmcv_ext.table'
PTH_NAME = 'cl_dense_mmcv_ext.pth'


class _TableLoader(importlib.abc.Loader):
    """Creates ``mmcv._ext`` as a fresh module filled from :mod:`cl_dense.mmcv_ext.table`."""

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return types.ModuleType(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        table = importlib.import_module(TABLE_MODULE)
        module.__dict__.update(table.exported_functions())
        module.__getattr__ = table.missing_function  # PEP 562: names we do not provide
        module.__doc__ = table.__doc__
        module.CL_DENSE_PROVIDED = True


class MmcvExtFinder(importlib.abc.MetaPathFinder):
    """Finds ``mmcv._ext`` (only that name), after every other finder has declined it."""

    def find_spec(self, fullname: str, path=None, target=None):
        if fullname != EXT_NAME:
            return None
        return importlib.util.spec_from_loader(fullname, _TableLoader())


def install() -> MmcvExtFinder:
    """Append the finder to ``sys.meta_path`` once (idempotent) and return it."""
    for finder in sys.meta_path:
        if type(finder).__name__ == 'MmcvExtFinder':
            return finder
    finder = MmcvExtFinder()
    sys.meta_path.append(finder)
    return finder


def pth_line(hook_file: str) -> str:
    """The ``.pth`` line that loads ``hook_file`` by path and calls :func:`install`."""
    return ("import os, importlib.util as u; f = %r; s = os.path.exists(f) and "
            "u.spec_from_file_location('_cl_dense_mmcv_ext_hook', f); m = s and u.module_from_spec(s); "
            "m and (s.loader.exec_module(m) or m.install())\n" % hook_file)


def write_pth(site_dir: str | None = None) -> str:
    """Write the ``.pth`` file into ``site_dir`` (default: this interpreter's purelib); its path."""
    site_dir = site_dir or sysconfig.get_paths()['purelib']
    target = os.path.join(site_dir, PTH_NAME)
    with open(target, 'w') as handle:
        handle.write(pth_line(os.path.abspath(__file__)))
    return target


if __name__ == '__main__':
    if len(sys.argv) < 2 or sys.argv[1] != '--install':
        sys.exit(__doc__.strip().splitlines()[-1].strip())
    print(write_pth(sys.argv[2] if len(sys.argv) > 2 else None))
