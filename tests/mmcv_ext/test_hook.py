"""mmcv._ext is found however mmcv is first imported: through the venv's .pth file (no cl_dense
import at all) or through ``import cl_dense``; the finder answers only that name, last."""
import subprocess
import sys
import textwrap

import pytest

from cl_dense.mmcv_ext import hook

from ..conftest import PROJECT_ROOT


def _run(code: str, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *flags, '-c', textwrap.dedent(code)], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=300)


def _compiled_mmcv() -> bool:
    from mmcv import _ext
    return not getattr(_ext, 'CL_DENSE_PROVIDED', False)


def test_upstream_style_script_that_never_imports_cl_dense_gets_the_ops():
    if _compiled_mmcv():
        pytest.skip('mmcv has its compiled ops here')
    result = _run('''
        import sys
        import mmdet.models  # mmdet first, as upstream tools/train.py does
        import torch
        from mmcv.ops import RoIAlign, nms
        out = RoIAlign(2, 1.0, 0)(torch.ones(1, 1, 4, 4), torch.tensor([[0., 0., 0., 3., 3.]]))
        dets, keep = nms(torch.tensor([[0., 0., 2., 2.], [0., 0., 2., 2.1]]), torch.tensor([.9, .8]), .5)
        print(float(out.mean()), keep.tolist(), sys.modules['mmcv._ext'].CL_DENSE_PROVIDED)
    ''')
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ['1.0', '[0]', 'True']


def test_import_cl_dense_installs_the_finder_without_the_pth():
    if _compiled_mmcv():
        pytest.skip('mmcv has its compiled ops here')
    # -S: no site processing, so no .pth; the venv's site-packages is put on the path by hand
    result = _run(f'''
        import sys
        sys.path[:0] = [{str(PROJECT_ROOT)!r}] + {[p for p in sys.path if 'site-packages' in p]!r}
        import mmcv
        try:
            import mmcv.ops
            raise SystemExit('mmcv.ops imported without the hook')
        except ModuleNotFoundError as error:
            assert "mmcv._ext" in str(error), error
        import cl_dense
        import importlib
        for name in [m for m in sys.modules if m.startswith('mmcv.ops')]:
            del sys.modules[name]
        from mmcv.ops import nms
        print('ok')
    ''', '-S')
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == 'ok'


def test_finder_answers_only_mmcv_ext_and_sits_after_the_path_finder():
    finder = hook.install()
    assert hook.install() is finder  # idempotent
    assert finder.find_spec('mmcv.ops') is None and finder.find_spec('numpy') is None
    assert finder.find_spec('mmcv._ext').name == 'mmcv._ext'
    position = sys.meta_path.index(finder)
    from importlib.machinery import PathFinder
    assert sys.meta_path.index(PathFinder) < position  # a compiled mmcv/_ext*.so wins


def test_pth_line_skips_a_missing_hook_file(tmp_path):
    line = hook.pth_line(str(tmp_path / 'gone.py'))
    exec(line, {})  # a removed checkout must not break interpreter start
    target = hook.write_pth(str(tmp_path))
    assert open(target).read() == hook.pth_line(hook.__file__)
