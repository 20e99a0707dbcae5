"""Safe checkpoints: resume is exact on torch >= 2.6, and pickled code in a checkpoint never runs,
whether the checkpoint is a local file or downloaded through any of mmengine's URL schemes."""
import contextlib
import functools
import http.server
import json
import pickle
import re
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

import cl_dense  # noqa: F401  (installs the safe loader)
from cl_dense.engine.checkpoint import UnsafeCheckpointError, mmengine_checkpoint_globals

from ..conftest import PROJECT_ROOT
from .runner_utils import TINY_CONFIG, tiny_seg_config, train_tiny

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


@pytest.fixture(scope='module')
def real_checkpoint(tmp_path_factory) -> Path:
    """``iter_2.pth`` of a tiny mmseg run that validated every iteration and kept its best mIoU."""
    root = tmp_path_factory.mktemp('real_checkpoint')
    cfg = tiny_seg_config(root / 'run', root / 'data', max_iters=2, ckpt_interval=2)
    cfg.train_cfg.val_interval = 1
    cfg.default_hooks.checkpoint.save_best = 'mIoU'
    train_tiny(cfg)
    return root / 'run' / 'iter_2.pth'


def _entry_name(entry) -> str:
    return entry[1] if isinstance(entry, tuple) else f'{entry.__module__}.{entry.__qualname__}'


def _allowed_names() -> dict:
    return {_entry_name(entry): entry[0] if isinstance(entry, tuple) else entry
            for entry in mmengine_checkpoint_globals()}


@contextlib.contextmanager
def _safe_globals_only(entries: list) -> Iterator[None]:
    """Within the block, torch allows ``entries`` beyond its own defaults, nothing else."""
    previous = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()
    torch.serialization.add_safe_globals(entries)
    try:
        yield
    finally:
        torch.serialization.clear_safe_globals()
        torch.serialization.add_safe_globals(previous)


# numpy dtype classes are BUILD targets in a pickle, not GLOBALs, so
# get_unsafe_globals_in_checkpoint does not list them; test_every_allow_listed_entry_is_needed does
_DTYPE_CLASSES = {'numpy.dtypes.Float64DType', 'numpy.dtypes.Int64DType', 'numpy.dtypes.Float32DType'}


def test_allow_list_equals_the_globals_a_real_checkpoint_needs(real_checkpoint):
    with _safe_globals_only([]):  # what the checkpoint needs beyond torch's own defaults
        needed = set(torch.serialization.get_unsafe_globals_in_checkpoint(real_checkpoint))
    allowed = _allowed_names()
    assert needed == set(allowed) - _DTYPE_CLASSES
    # nothing broader than classes, numpy's array/scalar reconstructors and the restricted getattr
    callables = {name for name, obj in allowed.items() if not isinstance(obj, type)}
    assert callables == {'numpy._core.multiarray._reconstruct', 'numpy._core.multiarray.scalar',
                         'builtins.getattr'}
    assert allowed['builtins.getattr'] is not getattr


def test_every_allow_listed_entry_is_needed(real_checkpoint):
    entries = mmengine_checkpoint_globals()
    with _safe_globals_only(entries):
        torch.load(real_checkpoint, weights_only=True)
    for i, entry in enumerate(entries):
        with _safe_globals_only(entries[:i] + entries[i + 1:]):
            with pytest.raises(pickle.UnpicklingError):
                torch.load(real_checkpoint, weights_only=True)
                pytest.fail(f'{_entry_name(entry)} is allow-listed but the checkpoint loads without it')


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


# --- checkpoints downloaded through mmengine's URL schemes, from a server on 127.0.0.1 ---

class _FileHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the server's directory, records each requested path, logs nothing."""

    timeout = 10  # seconds a connection may stall before the handler gives up

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.requested.append(self.path)
        super().do_GET()

    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def _serve(directory: Path, requested: list, tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 in a thread, appending each path to ``requested``; yields the URL."""
    server = http.server.ThreadingHTTPServer(
        ('127.0.0.1', 0), functools.partial(_FileHandler, directory=str(directory)))
    server.daemon_threads = True
    server.requested = requested
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        assert not thread.is_alive()


@pytest.fixture(scope='module')
def tls_certificate(tmp_path_factory) -> Path:
    """A self-signed certificate (and key) for 127.0.0.1, made with the openssl command."""
    if shutil.which('openssl') is None:
        pytest.skip('the openssl command is needed to make a certificate for the https server')
    root = tmp_path_factory.mktemp('tls')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
                    '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
                    '-addext', 'subjectAltName=IP:127.0.0.1',
                    '-keyout', str(root / 'key.pem'), '-out', str(root / 'cert.pem')],
                   check=True, capture_output=True, timeout=60)
    return root


SCHEMES = ('http', 'https', 'open-mmlab', 'openmmlab', 'torchvision', 'modelzoo', 'mmcls')


class _Remote:
    """Publishes checkpoints on the local servers under every mmengine download scheme.

    ``requested`` lists the paths either server was asked for; ``hub_cache`` is torch.hub's download
    cache; ``mmengine_home`` holds the user's ``open_mmlab.json`` name->URL map.
    """

    def __init__(self, served: Path, http_url: str, https_url: str, requested: list,
                 mmengine_home: Path, monkeypatch) -> None:
        self.served, self.http_url, self.https_url, self.requested = served, http_url, https_url, requested
        self.mmengine_home, self.monkeypatch = mmengine_home, monkeypatch
        self.hub_cache = Path(torch.hub.get_dir()) / 'checkpoints'

    def publish(self, scheme: str, file_name: str, checkpoint: bytes) -> tuple[str, str]:
        """Serve ``checkpoint`` as ``file_name``; returns the path to load and the URL it resolves to."""
        (self.served / file_name).write_bytes(checkpoint)
        url = f'{self.https_url if scheme == "https" else self.http_url}/{file_name}'
        if scheme in ('http', 'https'):
            return url, url
        name = f'cl_dense_test/{Path(file_name).stem}'
        if scheme in ('open-mmlab', 'openmmlab'):  # mmengine's real lookup: the user's name->URL map
            self.map_open_mmlab(name, url)
        else:  # these schemes read only mmengine's / torchvision's own maps: patch the lookup
            from mmengine.runner import checkpoint as mmengine_checkpoint
            lookup = 'get_mmcls_models' if scheme == 'mmcls' else 'get_torchvision_models'
            self.monkeypatch.setattr(mmengine_checkpoint, lookup, lambda: {name: url})
        return f'{scheme}://{name}', url

    def map_open_mmlab(self, name: str, target: str) -> None:
        """Map ``open-mmlab://name`` to ``target`` (a URL, or a file in ``mmengine_home``)."""
        json_path = self.mmengine_home / 'open_mmlab.json'
        urls = json.loads(json_path.read_text()) if json_path.exists() else {}
        json_path.write_text(json.dumps({**urls, name: target}))


@pytest.fixture
def remote(tmp_path, monkeypatch, tls_certificate) -> Iterator[_Remote]:
    """http and https servers on 127.0.0.1, empty torch.hub and mmengine caches in ``tmp_path``."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setattr(torch.hub, '_hub_dir', None)  # in case a torch.hub.set_dir overrode TORCH_HOME
    monkeypatch.setenv('MMENGINE_HOME', str(tmp_path / 'mmengine_home'))
    monkeypatch.setenv('SSL_CERT_FILE', str(tls_certificate / 'cert.pem'))  # urllib trusts the server
    (tmp_path / 'mmengine_home').mkdir()
    served = tmp_path / 'served'
    served.mkdir()
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(tls_certificate / 'cert.pem', tls_certificate / 'key.pem')
    requested = []  # by either server
    with _serve(served, requested) as http_url, _serve(served, requested, tls) as https_url:
        yield _Remote(served, http_url, https_url, requested, tmp_path / 'mmengine_home', monkeypatch)


def _malicious_checkpoint(marker: Path) -> bytes:
    """A checkpoint whose ``meta`` would create ``marker`` when unpickled without protection."""
    path = marker.with_name('malicious.pth')
    torch.save({'state_dict': {'w': torch.zeros(2)}, 'meta': _Payload(marker)}, path)
    return path.read_bytes()


def _assert_same_checkpoint(loaded: dict, saved: dict) -> None:
    """Equal weights, optimizer and meta; and the allow-listed message hub objects came through."""
    for key in ('state_dict', 'optimizer', 'meta'):
        _tensors_equal(loaded[key], saved[key], key)
    hub, saved_hub = loaded['message_hub'], saved['message_hub']
    for got, expected in zip(hub['log_scalars']['train/loss'].data,
                             saved_hub['log_scalars']['train/loss'].data, strict=True):
        np.testing.assert_array_equal(got, expected)
    assert hub['runtime_info']['best_score'] == saved_hub['runtime_info']['best_score']


def _backbone(state_dict: dict) -> dict:
    """The ``backbone.`` entries of a segmentor's state dict, without the prefix."""
    return {k[len('backbone.'):]: v for k, v in state_dict.items() if k.startswith('backbone.')}


@pytest.mark.parametrize('scheme', SCHEMES)
def test_real_checkpoint_loads_through_every_download_scheme(real_checkpoint, remote, scheme):
    from mmengine.runner.checkpoint import _load_checkpoint

    path, url = remote.publish(scheme, 'real.pth', real_checkpoint.read_bytes())
    loaded = _load_checkpoint(path, map_location='cpu')
    saved = torch.load(real_checkpoint, weights_only=True)
    if scheme == 'mmcls':  # mmengine keeps the backbone only, without its prefix
        backbone = _backbone(saved['state_dict'])
        assert backbone and loaded.keys() == {'state_dict'}
        _tensors_equal(loaded['state_dict'], backbone)
    else:
        _assert_same_checkpoint(loaded, saved)
    assert remote.requested == ['/real.pth']  # it came from the local server ...
    assert (remote.hub_cache / 'real.pth').is_file()  # ... into the temporary torch.hub cache


@pytest.mark.parametrize('scheme', SCHEMES)
def test_malicious_download_is_refused_through_every_scheme(remote, scheme, tmp_path):
    from mmengine.runner.checkpoint import _load_checkpoint

    marker = tmp_path / 'payload_ran'
    path, url = remote.publish(scheme, 'evil.pth', _malicious_checkpoint(marker))
    with pytest.raises(UnsafeCheckpointError, match=f'refused to load checkpoint {re.escape(url)} '):
        _load_checkpoint(path, map_location='cpu')
    assert remote.requested == ['/evil.pth']  # downloaded, then refused
    assert not marker.exists()


def test_cached_malicious_file_is_refused(real_checkpoint, remote, tmp_path):
    from mmengine.runner.checkpoint import _load_checkpoint

    path, url = remote.publish('http', 'model.pth', real_checkpoint.read_bytes())  # benign on the server
    marker = tmp_path / 'payload_ran'
    cached = remote.hub_cache / 'model.pth'
    cached.parent.mkdir(parents=True)
    cached.write_bytes(_malicious_checkpoint(marker))  # but a malicious file in the download cache
    expected = re.escape(f'{url} (cached as {cached})')
    with pytest.raises(UnsafeCheckpointError, match=expected):
        _load_checkpoint(path, map_location='cpu')
    assert remote.requested == []  # the cache was used, not the server
    assert not marker.exists()
    torch.load(cached, weights_only=False)  # the payload is live: an unprotected load runs it
    assert marker.exists()


def test_public_load_url_is_the_safe_one(remote, tmp_path):
    from mmengine.utils.dl_utils import load_url

    marker = tmp_path / 'payload_ran'
    _, url = remote.publish('http', 'evil.pth', _malicious_checkpoint(marker))
    with pytest.raises(UnsafeCheckpointError, match=re.escape(url)):
        load_url(url)
    assert not marker.exists()


def test_open_mmlab_local_file_entry_is_refused(remote, tmp_path):
    """An open-mmlab name mapped to a file in MMENGINE_HOME is loaded by mmengine with torch's
    default, ``weights_only=True`` on torch >= 2.6, and the same allow-list."""
    from mmengine.runner.checkpoint import _load_checkpoint

    marker = tmp_path / 'payload_ran'
    (remote.mmengine_home / 'evil_local.pth').write_bytes(_malicious_checkpoint(marker))
    remote.map_open_mmlab('cl_dense_test/evil_local', 'evil_local.pth')
    with pytest.raises(pickle.UnpicklingError, match='Weights only load failed'):
        _load_checkpoint('open-mmlab://cl_dense_test/evil_local', map_location='cpu')
    assert not marker.exists()


def _tiny_model_cfg():
    from mmengine.config import Config

    return Config.fromfile(str(TINY_CONFIG)).model


def test_mmseg_pretrained_open_mmlab_refuses_malicious_checkpoint(remote, tmp_path):
    from mmseg.registry import MODELS

    marker = tmp_path / 'payload_ran'
    cfg = _tiny_model_cfg()
    cfg.pretrained, url = remote.publish('open-mmlab', 'evil.pth', _malicious_checkpoint(marker))
    model = MODELS.build(cfg)
    with pytest.raises(UnsafeCheckpointError, match=re.escape(url)):
        model.init_weights()
    assert not marker.exists()


def test_init_cfg_pretrained_url_loads_real_checkpoint(real_checkpoint, remote):
    from mmseg.registry import MODELS

    cfg = _tiny_model_cfg()
    url, _ = remote.publish('https', 'real.pth', real_checkpoint.read_bytes())
    cfg.backbone.init_cfg = dict(type='Pretrained', checkpoint=url, prefix='backbone.')
    model = MODELS.build(cfg)
    model.init_weights()
    saved = torch.load(real_checkpoint, weights_only=True)['state_dict']
    _tensors_equal(model.backbone.state_dict(), _backbone(saved))


def test_runner_load_from_url_refuses_malicious_checkpoint(remote, tmp_path):
    from mmengine.runner import Runner

    marker = tmp_path / 'payload_ran'
    cfg = tiny_seg_config(tmp_path / 'work', tmp_path / 'data', max_iters=1, ckpt_interval=1)
    cfg.load_from, url = remote.publish('http', 'evil.pth', _malicious_checkpoint(marker))
    runner = Runner.from_cfg(cfg)
    with pytest.raises(UnsafeCheckpointError, match=re.escape(url)):
        runner.load_or_resume()
    assert not marker.exists()
