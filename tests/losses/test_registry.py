"""The losses are registered in mmengine's root MODELS (seen from mmseg and mmdet) and import
with torch alone."""
import subprocess
import sys

import pytest

from cl_dense.losses import PixelContrastLoss, PixelMemoryContrastLoss


@pytest.mark.parametrize('cls', [PixelContrastLoss, PixelMemoryContrastLoss])
def test_registered_in_root_and_built_from_toolbox_registries(cls):
    from mmdet.registry import MODELS as MMDET_MODELS
    from mmengine.registry import MODELS as ROOT_MODELS
    from mmseg.registry import MODELS as MMSEG_MODELS

    assert ROOT_MODELS.get(cls.__name__) is cls
    cfg = dict(type=cls.__name__, num_classes=4)
    if cls is PixelMemoryContrastLoss:
        cfg.update(proj_dim=8, memory_size=3)
    for registry in (MMSEG_MODELS, MMDET_MODELS):
        assert isinstance(registry.build(cfg), cls)


def test_importable_without_mmengine():
    code = ('import sys; sys.modules["mmengine"] = None\n'
            'import torch\n'
            'from cl_dense.losses import PixelContrastLoss\n'
            'loss = PixelContrastLoss(num_classes=2, max_views=1)\n'
            'emb = torch.nn.functional.normalize(torch.randn(2, 4, 2, 2), dim=1)\n'
            'print(loss(emb, torch.tensor([[[0, 0], [1, 1]]] * 2))["loss_contrast"].item())\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert float(out.stdout) > 0
