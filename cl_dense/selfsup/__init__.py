"""Self-supervised pretraining (DetCo and the pieces other methods reuse), registered in
mmengine's root registries (MODELS, DATASETS, TRANSFORMS), so pretraining configs use
``default_scope = 'mmengine'``. Never imports mmdet or mmseg itself: the backbone's registry is
imported when the config names it (``type='mmseg.ResNetV1c'``)."""
from .data_preprocessor import MultiViewDataPreprocessor
from .datasets import UnlabelledImageFolder
from .detco import DetCo
from .encoder import MultiLevelEncoder, unshuffle_patches
from .heads import MLPHead
from .momentum import copy_into_key_encoder, momentum_encoder
from .queues import enqueue_keys, filled_keys, rank_offset
from .shuffle_bn import batch_shuffled
from .transforms import Jigsaw, LoadImage, MultiView, TorchvisionAugment, jigsaw_patches

__all__ = ['DetCo', 'Jigsaw', 'LoadImage', 'MLPHead', 'MultiLevelEncoder', 'MultiView',
           'MultiViewDataPreprocessor', 'TorchvisionAugment', 'UnlabelledImageFolder',
           'batch_shuffled', 'copy_into_key_encoder', 'enqueue_keys', 'filled_keys', 'jigsaw_patches',
           'momentum_encoder', 'rank_offset', 'unshuffle_patches']
from .pcrl import PCRL, PCRLTransform  # noqa: E402,F401  (registers PCRL)
from .nnclr import NNCLR, nearest_neighbours  # noqa: E402,F401  (registers NNCLR)
from .pcl import PCL, concentration, proto_nce  # noqa: E402,F401  (registers PCL)
from .pcl_hook import PrototypeUpdateHook  # noqa: E402,F401  (registers PrototypeUpdateHook)
__all__ += ['NNCLR', 'PCL', 'PrototypeUpdateHook', 'concentration', 'nearest_neighbours',
            'proto_nce']
from . import glcnet  # noqa: E402,F401  (GLCNet: registers its model and transform)
from .export_hook import BackboneExportHook  # noqa: E402,F401  (registers BackboneExportHook)
__all__ += ['BackboneExportHook']
