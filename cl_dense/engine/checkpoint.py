"""Safe checkpoint loading for mmengine checkpoints on torch >= 2.6, local and downloaded.

torch loads with ``weights_only=True`` by default, which refuses the few non-tensor objects that
mmengine 0.10.7 writes into checkpoints (the message hub's ``HistoryBuffer`` and the numpy arrays and
scalars inside it), so ``--resume`` fails out of the box. Instead of turning the protection off,
:func:`allow_mmengine_checkpoint_globals` allow-lists exactly those classes, and
:func:`install_safe_checkpoint_loader` makes mmengine load with ``weights_only=True`` explicitly and
turn a refusal into :class:`UnsafeCheckpointError` naming the file or URL:

- local paths: mmengine's ``''`` scheme is replaced by :func:`load_local_checkpoint_safely`;
- downloads: every mmengine scheme that downloads (``http://``, ``https://``, and through them
  ``open-mmlab://``, ``openmmlab://``, ``torchvision://``, ``modelzoo://``, ``mmcls://``) ends in
  mmengine's ``load_url`` (torch.hub's download cache, then ``torch.load(weights_only=False)``), which
  is replaced by :func:`load_url_safely`. A cached file is checked on every load, like a fresh one.

A checkpoint carrying any other pickled callable is refused before it can run.
"""
from __future__ import annotations

import os.path as osp
import pickle
from urllib.parse import urlparse

import numpy as np
import torch


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds a pickled object outside the allow-list; it was not loaded."""


def _history_buffer_method(owner: type, name: str):
    """A ``getattr`` that only looks up ``HistoryBuffer`` statistics methods.

    ``HistoryBuffer.__getstate__`` pickles its statistics methods (``min``, ``max``, ``mean``,
    ``current`` and any registered with ``register_statistics``), which pickle protocol 2 writes as
    ``getattr(HistoryBuffer, 'min')``. Allowing the real ``getattr`` would let a checkpoint reach any
    attribute of any allowed object (``ndarray.tofile``, ...), so this stands in for it.
    """
    from mmengine.logging.history_buffer import HistoryBuffer

    if owner is not HistoryBuffer or name.startswith('_') or not callable(vars(HistoryBuffer).get(name)):
        raise pickle.UnpicklingError(
            f'getattr({owner!r}, {name!r}) is not allowed: only HistoryBuffer statistics methods '
            'may be looked up while loading a checkpoint')
    return getattr(owner, name)


def mmengine_checkpoint_globals() -> list:
    """The classes and functions mmengine 0.10.7 checkpoints need beyond tensors and containers.

    Returns:
        A list for ``torch.serialization.add_safe_globals``: exact objects (no modules, no
        wildcards), and ``(_history_buffer_method, 'builtins.getattr')``, which answers the
        checkpoints' ``getattr`` calls with the restricted lookup above.
    """
    from mmengine.logging.history_buffer import HistoryBuffer

    return [
        HistoryBuffer,
        (_history_buffer_method, 'builtins.getattr'),
        np.ndarray,
        np.dtype,
        np._core.multiarray._reconstruct,  # rebuilds the arrays inside HistoryBuffer
        np._core.multiarray.scalar,  # numpy scalars in runtime_info: 'eta', CheckpointHook's 'best_score'
        # The dtype classes torch checks when it sets a dtype's state (a BUILD, not a GLOBAL, so
        # torch.serialization.get_unsafe_globals_in_checkpoint does not list them):
        np.dtypes.Float64DType,  # HistoryBuffer's value history, runtime_info['eta']
        np.dtypes.Int64DType,  # HistoryBuffer's count history
        np.dtypes.Float32DType,  # runtime_info['best_score'] of mmseg's IoUMetric (save_best)
    ]


def allow_mmengine_checkpoint_globals() -> None:
    """Allow-list :func:`mmengine_checkpoint_globals` for ``torch.load(weights_only=True)``."""
    torch.serialization.add_safe_globals(mmengine_checkpoint_globals())


def load_local_checkpoint_safely(filename: str, map_location=None) -> dict:
    """mmengine's local checkpoint loader, with ``weights_only=True`` and a clear refusal.

    Args:
        filename: path of the checkpoint file.
        map_location: as for :func:`torch.load`.

    Raises:
        FileNotFoundError: the file does not exist.
        UnsafeCheckpointError: the file holds a pickled object outside the allow-list.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} can not be found')
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise _refusal(filename, err) from None


def _refusal(source: str, err: Exception) -> UnsafeCheckpointError:
    """The error for a checkpoint at ``source`` (a path or URL) that ``torch.load`` refused."""
    return UnsafeCheckpointError(
        f'refused to load checkpoint {source}: it contains a pickled object that is not a '
        'tensor, container or allow-listed mmengine/numpy type, so loading it could run '
        'arbitrary code. Only load checkpoints you trust; to inspect one, use '
        f'torch.serialization.get_unsafe_globals_in_checkpoint. Details: {err}')


def load_url_safely(url: str, model_dir: str | None = None, map_location=None, progress: bool = True,
                    check_hash: bool = False, file_name: str | None = None) -> dict:
    """mmengine's ``load_url`` (download into torch.hub's cache, then load), with ``weights_only=True``.

    Args:
        url: the checkpoint's http(s) URL.
        model_dir, map_location, progress, check_hash, file_name: as for
            :func:`torch.hub.load_state_dict_from_url` (``model_dir`` defaults to
            ``<torch.hub.get_dir()>/checkpoints``; a file already there is loaded, not downloaded).

    Raises:
        UnsafeCheckpointError: the file (downloaded now or cached before) holds a pickled object
            outside the allow-list; the message names the URL and the cached file.
    """
    try:
        return torch.hub.load_state_dict_from_url(
            url, model_dir=model_dir, map_location=map_location, progress=progress,
            check_hash=check_hash, file_name=file_name, weights_only=True)
    except pickle.UnpicklingError as err:
        cached = osp.join(model_dir or osp.join(torch.hub.get_dir(), 'checkpoints'),
                          file_name or osp.basename(urlparse(url).path))
        raise _refusal(f'{url} (cached as {cached})', err) from None


def install_safe_checkpoint_loader() -> None:
    """Register the allow-list, :func:`load_local_checkpoint_safely` and :func:`load_url_safely`.

    The local loader replaces mmengine's ``''`` scheme. :func:`load_url_safely` replaces ``load_url``
    wherever mmengine binds it: ``mmengine.runner.checkpoint`` (whose ``load_from_http`` serves
    ``http://`` and ``https://`` and is what the open-mmlab, openmmlab, torchvision, modelzoo and mmcls
    schemes call after mapping a name to a URL) and the public ``mmengine.utils.dl_utils``.
    """
    import mmengine.runner.checkpoint as mmengine_checkpoint
    import mmengine.utils.dl_utils as dl_utils
    import mmengine.utils.dl_utils.hub as dl_utils_hub

    allow_mmengine_checkpoint_globals()
    mmengine_checkpoint.CheckpointLoader.register_scheme(
        prefixes='', loader=load_local_checkpoint_safely, force=True)
    for module in (mmengine_checkpoint, dl_utils, dl_utils_hub):
        module.load_url = load_url_safely
