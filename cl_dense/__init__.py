"""cl_dense: dense contrastive learning for the OpenMMLab 2.x stack.

``import cl_dense`` is light: it needs torch only, and when mmengine is installed it makes
mmengine's checkpoint loading safe on torch >= 2.6 (see :mod:`cl_dense.engine.checkpoint`). The
OpenMMLab modules are registered by importing the sub-package of the toolbox in use, which is what
configs do through ``custom_imports``:

- ``cl_dense.seg``: mmseg models, losses and datasets (never imports mmdet);
- ``cl_dense.losses``: the losses alone, in mmengine's root registry (seen by mmseg and mmdet);
- ``cl_dense.selfsup``: self-supervised pretraining (DetCo, the zoo, ``BackboneExportHook``), in
  mmengine's root registries (``cl_dense.selfsup.mmpretrain_compat`` for mmpretrain's configs);

or all of them at once with :func:`register_all_modules`.
"""
import importlib
import importlib.util

from .mmcv_ext.hook import install as _install_mmcv_ext
from .version import __version__

# mmcv-lite set-ups: serve mmcv._ext from torch/torchvision kernels (a no-op beside a compiled mmcv;
# the .pth that tools/setup_env.sh writes does this at interpreter start, see cl_dense/mmcv_ext/hook.py)
_install_mmcv_ext()

if importlib.util.find_spec('mmengine') is not None:
    from .engine.checkpoint import install_safe_checkpoint_loader

    install_safe_checkpoint_loader()

# toolbox -> the sub-package registering our modules for it, imported in this order
_TOOLBOX_SUBPACKAGES = {'mmseg': 'cl_dense.seg', 'mmdet': 'cl_dense.det',
                        'mmengine': 'cl_dense.selfsup',
                        'mmpretrain': 'cl_dense.selfsup.mmpretrain_compat'}


def register_all_modules() -> list[str]:
    """Import every cl_dense sub-package whose OpenMMLab toolbox is installed: ``cl_dense.seg``
    (mmseg), ``cl_dense.det`` (mmdet), ``cl_dense.selfsup`` (mmengine) and
    ``cl_dense.selfsup.mmpretrain_compat`` (mmpretrain).

    Returns:
        The names of the sub-packages imported (their modules are now registered).
    """
    imported = []
    for toolbox, subpackage in _TOOLBOX_SUBPACKAGES.items():
        if importlib.util.find_spec(toolbox) is not None and importlib.util.find_spec(subpackage) is not None:
            importlib.import_module(subpackage)
            imported.append(subpackage)
    return imported


__all__ = ['__version__', 'register_all_modules']
