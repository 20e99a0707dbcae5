"""Safe checkpoints: resume is exact on torch >= 2.6, and pickled code in a checkpoint never runs."""
from pathlib import Path

import numpy as np
import pytest
import torch

import cl_dense  # noqa: F401  (installs the safe loader)
from cl_dense.engine.checkpoint import UnsafeCheckpointError, mmengine_checkpoint_globals

from ..conftest import PROJECT_ROOT
from .runner_utils import tiny_seg_config, train_tiny

pytestmark = pytest.mark.filterwarnings('ignore::UserWarning')


def _tensors_equal(a, b, path='') -> None:
    """Assert two nested checkpoint structures hold bit-identical tensors and equal values."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), path
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            _tensors_equal(a[key], b[key], f'{path}/{key}')
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _tensors_equal(x, y, f'{path}[{i}]')
    else:
        assert a == b, path


def test_resumed_run_equals_uninterrupted_run(tmp_path):
    data_root = tmp_path / 'data'
    full = train_tiny(tiny_seg_config(tmp_path / 'full', data_root, max_iters=8, ckpt_interval=4))
    # a new run that resumes from the middle of the first one
    cfg = tiny_seg_config(tmp_path / 'resumed', data_root, max_iters=8, ckpt_interval=4)
    cfg.resume, cfg.load_from = True, str(tmp_path / 'full' / 'iter_4.pth')
    resumed = train_tiny(cfg)
    assert resumed.iter == full.iter == 8

    a = torch.load(tmp_path / 'full' / 'iter_8.pth', weights_only=True)
    b = torch.load(tmp_path / 'resumed' / 'iter_8.pth', weights_only=True)
    _tensors_equal(a['state_dict'], b['state_dict'], 'state_dict')
    _tensors_equal(a['optimizer'], b['optimizer'], 'optimizer')  # includes the learning rate
    _tensors_equal(a['param_schedulers'], b['param_schedulers'], 'param_schedulers')
    assert a['optimizer']['param_groups'][0]['lr'] == b['optimizer']['param_groups'][0]['lr']
    # and the model really trained: the weights moved away from those at iteration 4
    mid = torch.load(tmp_path / 'full' / 'iter_4.pth', weights_only=True)['state_dict']
    assert any(not torch.equal(mid[k], a['state_dict'][k]) for k in mid)


def _allowed_names() -> dict:
    return {entry[1] if isinstance(entry, tuple) else f'{entry.__module__}.{entry.__qualname__}':
            entry[0] if isinstance(entry, tuple) else entry for entry in mmengine_checkpoint_globals()}


def test_mmengine_checkpoint_needs_only_allow_listed_globals(tmp_path):
    train_tiny(tiny_seg_config(tmp_path / 'run', tmp_path / 'data', max_iters=2, ckpt_interval=2))
    previous = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()
    try:  # what the checkpoint needs beyond torch's own defaults
        needed = set(torch.serialization.get_unsafe_globals_in_checkpoint(tmp_path / 'run' / 'iter_2.pth'))
    finally:
        torch.serialization.add_safe_globals(previous)
    allowed = _allowed_names()
    assert {'mmengine.logging.history_buffer.HistoryBuffer', 'builtins.getattr'} <= needed <= set(allowed)
    # nothing broader than classes, numpy's array/scalar reconstructors and the restricted getattr
    callables = {name for name, obj in allowed.items() if not isinstance(obj, type)}
    assert callables == {'numpy._core.multiarray._reconstruct', 'numpy._core.multiarray.scalar',
                         'builtins.getattr'}
    assert allowed['builtins.getattr'] is not getattr


class _GetattrPayload:
    """Pickles as ``getattr(numpy.ndarray, 'tofile')``: an attribute outside HistoryBuffer."""

    def __reduce__(self):
        return getattr, (np.ndarray, 'tofile')


def test_getattr_is_restricted_to_history_buffer_methods(tmp_path):
    from mmengine.runner.checkpoint import _load_checkpoint

    path = tmp_path / 'getattr.pth'
    torch.save({'meta': _GetattrPayload()}, path)
    with pytest.raises(UnsafeCheckpointError, match='only HistoryBuffer statistics methods'):
        _load_checkpoint(str(path), map_location='cpu')


class _Payload:
    """Pickles as a call of ``exec`` that would create ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",)


def test_checkpoint_with_pickled_callable_is_refused_and_never_runs(tmp_path):
    from mmengine.runner.checkpoint import _load_checkpoint

    marker = tmp_path / 'payload_ran'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'w': torch.zeros(2)}, 'meta': _Payload(marker)}, path)
    with pytest.raises(UnsafeCheckpointError, match='refused to load checkpoint .*evil.pth'):
        _load_checkpoint(str(path), map_location='cpu')
    assert not marker.exists()


def test_test_tool_refuses_unsafe_checkpoint(tmp_path):
    import subprocess
    import sys

    marker = tmp_path / 'payload_ran'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': _Payload(marker)}, path)
    config = PROJECT_ROOT / 'tests/fixtures/configs/tiny_fcn_synthetic-shapes-32x32.py'
    proc = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / 'tools/test.py'), str(config), str(path),
         '--work-dir', str(tmp_path / 'work'), '--cfg-options',
         f'test_dataloader.dataset.data_root={tmp_path / "data"}'],
        capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode != 0
    assert 'UnsafeCheckpointError' in proc.stderr and 'refused to load checkpoint' in proc.stderr
    assert not marker.exists()
