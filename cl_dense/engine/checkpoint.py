"""Safe checkpoint loading for mmengine checkpoints on torch >= 2.6.

torch loads with ``weights_only=True`` by default, which refuses the few non-tensor objects that
mmengine 0.10.7 writes into checkpoints (the message hub's ``HistoryBuffer`` and the numpy arrays and
scalars inside it), so ``--resume`` fails out of the box. Instead of turning the protection off,
:func:`allow_mmengine_checkpoint_globals` allow-lists exactly those classes, and
:func:`install_safe_checkpoint_loader` makes mmengine's local-file loader call
``torch.load(weights_only=True)`` explicitly and turn a refusal into :class:`UnsafeCheckpointError`
naming the file. A checkpoint carrying any other pickled callable is refused before it can run.
"""
from __future__ import annotations

import os.path as osp
import pickle

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
        *{type(np.dtype(name)) for name in
          ('float64', 'float32', 'float16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool')},
        np._core.multiarray._reconstruct,
        np._core.multiarray.scalar,
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
        raise UnsafeCheckpointError(
            f'refused to load checkpoint {filename}: it contains a pickled object that is not a '
            'tensor, container or allow-listed mmengine/numpy type, so loading it could run '
            'arbitrary code. Only load checkpoints you trust; to inspect one, use '
            f'torch.serialization.get_unsafe_globals_in_checkpoint. Details: {err}') from None


def install_safe_checkpoint_loader() -> None:
    """Register the allow-list and :func:`load_local_checkpoint_safely` as mmengine's loader."""
    from mmengine.runner.checkpoint import CheckpointLoader

    allow_mmengine_checkpoint_globals()
    CheckpointLoader.register_scheme(prefixes='', loader=load_local_checkpoint_safely, force=True)
