"""ORE open-world detection for mmdet 3.x (registered in mmdet's registries).

Load it from a config with
``custom_imports = dict(imports=['cl_dense.det'], allow_failed_imports=False)``; this also
registers the losses (``cl_dense.losses``, e.g. ``PrototypeClusteringLoss``).
"""
from .. import losses  # noqa: F401  (registers the losses)
from .auto_label import UnknownAutoLabelSampler, select_unknown_proposals
from .datasets import (OpenWorldCocoDataset, OpenWorldTask, OpenWorldVOCDataset,
                       build_exemplar_set)
from .energy import WeibullEnergyModel, energy_score
from .metrics import OpenWorldMetric
from .objectness_rpn_head import ObjectnessRPNHead
from .open_world_bbox_head import OpenWorldBBoxHead, OpenWorldShared2FCBBoxHead
from .open_world_roi_head import OpenWorldRoIHead, add_unknown_pseudo_gt

__all__ = ['UnknownAutoLabelSampler', 'select_unknown_proposals', 'OpenWorldCocoDataset',
           'OpenWorldTask', 'OpenWorldVOCDataset', 'build_exemplar_set', 'WeibullEnergyModel',
           'energy_score', 'OpenWorldMetric', 'OpenWorldBBoxHead', 'OpenWorldShared2FCBBoxHead',
           'OpenWorldRoIHead', 'add_unknown_pseudo_gt', 'ObjectnessRPNHead']
