"""cl_dense.selfsup imports no OpenMMLab toolbox itself; a DetCo on an mmseg backbone needs no mmdet."""
import subprocess
import sys

from tests.conftest import PROJECT_ROOT

SCRIPT = '''
import sys
sys.modules['mmdet'] = None  # any "import mmdet" now fails
import cl_dense.selfsup
print('IMPORTED', ' '.join(sys.modules))
from tests.selfsup.tiny import multiview_batch, tiny_detco
model = tiny_detco()
model(model.data_preprocessor(multiview_batch(), True)['inputs'], mode='loss')
print('BUILT', ' '.join(sys.modules))
'''


def test_selfsup_imports_no_toolbox_and_detco_on_mmseg_needs_no_mmdet():
    out = subprocess.run([sys.executable, '-c', SCRIPT], cwd=PROJECT_ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = {line.split()[0]: set(line.split()[1:]) for line in out.stdout.splitlines()
             if line.startswith(('IMPORTED ', 'BUILT '))}
    after_import, after_model = lines['IMPORTED'], lines['BUILT']
    assert not {name.split('.')[0] for name in after_import} & {'mmseg', 'mmcv'}
    assert not any(name.startswith('mmdet.') for name in after_import)  # 'mmdet' is the block
    assert 'mmseg.models' in after_model
    assert not any(name.startswith('mmdet.') for name in after_model)
