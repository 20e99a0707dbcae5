"""cl_dense.ops and cl_dense.memory need torch alone: no OpenMMLab import, Triton optional."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OPENMMLAB_IMPORT = re.compile(r'^\s*(from|import)\s+(mmengine|mmcv|mmseg|mmdet|mmpretrain)\b',
                              re.MULTILINE)


def test_no_openmmlab_imports_in_ops_and_memory():
    sources = sorted((ROOT / 'cl_dense' / 'ops').glob('*.py')) + sorted(
        (ROOT / 'cl_dense' / 'memory').glob('*.py'))
    offenders = [str(path) for path in sources if OPENMMLAB_IMPORT.search(path.read_text())]
    assert sources and not offenders
SCRIPT = '''
import sys
sys.modules['triton'] = None  # any "import triton" now raises ImportError
import torch
from cl_dense.memory import ClassMemoryBank
from cl_dense.ops import supervised_contrast
from cl_dense.ops.triton_support import triton_backend
assert triton_backend() is None
bank = ClassMemoryBank(2, 3, 4)
bank.push(torch.nn.functional.normalize(torch.randn(5, 4), dim=1), torch.tensor([0, 1, 1, 0, 1]))
keys, labels = bank.keys()
anchors = torch.nn.functional.normalize(torch.randn(3, 4), dim=1).requires_grad_()
supervised_contrast(anchors, torch.tensor([0, 1, 1]), keys, labels, 0.1).backward()
assert torch.isfinite(anchors.grad).all()
print('ok')
'''


def test_package_works_when_triton_cannot_be_imported():
    proc = subprocess.run([sys.executable, '-c', SCRIPT], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == 'ok', proc.stderr[-3000:]
