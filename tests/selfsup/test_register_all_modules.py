"""``cl_dense.register_all_modules()`` registers the pretraining modules too (issue 16: it
imported ``seg`` and ``det`` only, so a user following its docstring got no DetCo)."""
import subprocess
import sys

from tests.conftest import PROJECT_ROOT

SCRIPT = '''
import cl_dense
from mmengine.registry import HOOKS, MODELS
before = MODELS.get('DetCo')
imported = cl_dense.register_all_modules()
print('IMPORTED', *imported)
print('FOUND', before is None, MODELS.get('DetCo') is not None, MODELS.get('PCRL') is not None,
      HOOKS.get('BackboneExportHook') is not None)
'''


def test_register_all_modules_imports_selfsup():
    out = subprocess.run([sys.executable, '-c', SCRIPT], cwd=PROJECT_ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = {line.split()[0]: line.split()[1:] for line in out.stdout.splitlines()}
    assert 'cl_dense.selfsup' in lines['IMPORTED']
    assert {'cl_dense.seg', 'cl_dense.det'} <= set(lines['IMPORTED'])
    # nothing registered before the call (import cl_dense stays light), everything after it
    assert lines['FOUND'] == ['True', 'True', 'True', 'True']
