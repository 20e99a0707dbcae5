"""The stack imports, mmcv's compiled ops compute correctly, and the layering holds."""
import subprocess
import sys

import pytest
import torch


def test_cl_dense_has_version():
    import cl_dense

    assert isinstance(cl_dense.__version__, str) and cl_dense.__version__.count('.') == 2


def test_openmmlab_stack_imports():
    import mmcv
    import mmdet
    import mmdet.models  # noqa: F401
    import mmengine
    import mmseg
    import mmseg.models  # noqa: F401

    assert (mmcv.__version__, mmengine.__version__) == ('2.1.0', '0.10.7')
    assert (mmseg.__version__, mmdet.__version__) == ('1.2.2', '3.3.0')


def test_mmcv_compiled_nms_matches_hand_computed():
    from mmcv.ops import nms

    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], dtype=torch.float32)
    scores = torch.tensor([0.9, 0.8, 0.7])
    # IoU(box0, box1) = 81 / (100 + 100 - 81) = 0.68 > 0.5: box1 is suppressed.
    _, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]
    _, keep = nms(boxes, scores, iou_threshold=0.7)
    assert keep.tolist() == [0, 1, 2]


def test_mmcv_compiled_roi_align_averages_a_linear_ramp():
    from mmcv.ops import roi_align

    feats = torch.arange(64, dtype=torch.float32).reshape(1, 1, 8, 8)
    rois = torch.tensor([[0, 2.0, 2.0, 6.0, 6.0]])
    out = roi_align(feats, rois, (1, 1), 1.0, 2, 'avg', True)
    # aligned box covers pixel centres 2..5 in x and y; the mean of a linear ramp is its centre value
    assert out.item() == pytest.approx(feats[0, 0, 2:6, 2:6].mean().item(), rel=1e-5)


def _modules_loaded_by(statement: str) -> set[str]:
    code = f'import sys; {statement}; print(" ".join(sorted(sys.modules)))'
    out = subprocess.run([sys.executable, '-c', code], check=True, capture_output=True, text=True).stdout
    return set(out.split())


def test_cl_dense_seg_works_without_mmdet():
    # mmseg itself imports mmdet when it is installed (Mask2Former heads), so block mmdet: an
    # environment with mmseg only must be able to import cl_dense.seg.
    loaded = _modules_loaded_by("sys.modules['mmdet'] = None; import cl_dense.seg")
    assert {'mmseg', 'cl_dense.seg'} <= loaded
    assert not any(name.startswith('mmdet.') for name in loaded)


def test_cl_dense_core_does_not_import_openmmlab_toolboxes():
    loaded = _modules_loaded_by('import cl_dense, cl_dense.ops, cl_dense.memory')
    assert not {'mmseg', 'mmdet', 'mmcv'} & loaded


def test_cl_dense_losses_and_memory_prototypes_are_torch_only():
    loaded = _modules_loaded_by(
        "sys.modules['mmengine'] = None; import cl_dense.losses, cl_dense.memory; "
        "from cl_dense.losses import PrototypeClusteringLoss; from cl_dense.memory import ClassPrototypes")
    assert 'cl_dense.losses.prototype_clustering' in loaded and 'cl_dense.memory.prototypes' in loaded
    assert not {'mmseg', 'mmdet', 'mmcv'} & loaded
