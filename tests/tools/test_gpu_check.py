"""tools/analysis_tools/gpu_check.py on the CPU: its no-CUDA exit, and its checks and timings run
on CPU tensors, where they must pass for the package and fail for a broken op."""
import json
import os
from pathlib import Path

import pytest
import torch

from cl_dense.ops import supervised_contrast

from ..tool_loading import load_tool

SCRIPT = Path(__file__).resolve().parents[2] / 'tools' / 'analysis_tools' / 'gpu_check.py'


@pytest.fixture(scope='module')
def gpu_check():
    return load_tool('analysis_tools/gpu_check.py')


@pytest.mark.skipif(torch.cuda.is_available(), reason='this machine has CUDA')
def test_without_cuda_it_says_so_and_exits_0(gpu_check, capsys):
    assert gpu_check.main([]) == 0
    assert 'no CUDA device' in capsys.readouterr().out


def test_checks_pass_for_the_package_on_cpu_tensors(gpu_check):
    results = gpu_check.run_checks('cpu')
    assert results and all(r['ok'] for r in results), [r for r in results if not r['ok']]
    names = {r['check'] for r in results}
    assert {'class_ring_push', 'region_means/sample_pixels_per_region/ClassMemoryBank'} <= names
    for dtype in ('float32', 'float16', 'bfloat16', 'float64'):
        assert f'supervised_contrast/self_contrast/supcon/{dtype}' in names
        assert f'supervised_contrast/basic/contrastiveseg/{dtype}/keys_grad' in names


def test_checks_catch_a_wrong_loss_and_a_missing_key_gradient(gpu_check):
    def scaled(*args, **kwargs):
        return supervised_contrast(*args, **kwargs) * 1.01

    def keys_detached(anchors, anchor_labels, keys, key_labels, **kwargs):
        keys = None if keys is None else keys.detach()
        return supervised_contrast(anchors, anchor_labels, keys, key_labels, **kwargs)

    wrong = gpu_check.check_contrast('basic', torch.float32, 'supcon', False, 'cpu', scaled)
    assert not wrong['ok'] and wrong['loss'] > 1e-3
    no_grad = gpu_check.check_contrast('basic', torch.float32, 'contrastiveseg', True, 'cpu',
                                       keys_detached)
    assert not no_grad['ok'] and no_grad['grad_keys'] == pytest.approx(1.0)


def test_quick_run_on_cpu_prints_the_table_and_writes_json(gpu_check, tmp_path, capsys):
    out = tmp_path / 'gpu.json'
    assert gpu_check.main(['--device', 'cpu', '--quick', '--repeats', '1',
                           '--json', str(out)]) == 0
    printed = capsys.readouterr().out
    assert 'checks: ' in printed and 'class_ring_push 1000 rows' in printed
    result = json.loads(out.read_text())
    assert result['checks_passed'] == result['checks_total'] > 50
    row = result['contrast'][0]
    assert row['speedup_vs_dense'] == pytest.approx(row['dense_s'] / row['streaming_s'])
    assert row['time_vs_3_matmuls'] == pytest.approx(row['streaming_s'] / row['matmuls_s'])


def test_runs_from_a_plain_checkout_without_openmmlab():
    """As on the lent GPU machine: torch and triton only, ``PYTHONPATH=.``."""
    import subprocess
    import sys

    root = SCRIPT.parents[2]
    blocker = ("import runpy, sys\n"
               "for name in ('mmengine', 'mmcv', 'mmseg', 'mmdet', 'mmpretrain'):\n"
               "    sys.modules[name] = None  # any import of them now raises ImportError\n"
               f"sys.argv = [{str(SCRIPT)!r}, '--device', 'cpu', '--quick', '--repeats', '1']\n"
               f"runpy.run_path({str(SCRIPT)!r}, run_name='__main__')\n")
    proc = subprocess.run([sys.executable, '-c', blocker], cwd=root, capture_output=True,
                          text=True, timeout=300, env={**os.environ, 'PYTHONPATH': str(root)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'checks: ' in proc.stdout and 'FAILED' not in proc.stdout


def test_mmcv_ext_checks_run_on_cpu_and_catch_a_wrong_op():
    checker = load_tool('analysis_tools/gpu_check_mmcv_ext.py')
    results = checker.run_checks('cpu')
    assert len(results) == len(checker.CHECKS) and all(r['ok'] for r in results), results

    def off_on_device(device):
        out = checker._focal('cpu')
        return [t * (1.001 if device != 'cpu' else 1.0) for t in out]

    bad = checker.run_checks('cuda-like', {'focal': off_on_device})
    assert not bad[0]['ok'] and bad[0]['max_rel_error'] > 1e-4
