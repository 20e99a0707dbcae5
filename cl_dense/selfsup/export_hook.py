"""``BackboneExportHook``: write the pretrained backbone next to the checkpoints when training
ends, so every pretraining run (``tools/train.py``, ``tools/pretrain.py``) leaves a file ready for
``init_cfg=dict(type='Pretrained', checkpoint='<work_dir>/backbone.pth')``."""
from __future__ import annotations

import os.path as osp
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from .export import save_backbone


@HOOKS.register_module()
class BackboneExportHook(Hook):
    """After the last training iteration, save the model's backbone (the query / online
    network's: ``query_encoder.backbone.*`` or ``backbone.*``, see
    :func:`cl_dense.selfsup.export.find_prefix`) to ``<work_dir>/<filename>`` on rank 0.

    Args:
        filename: file name in the work dir, or an absolute path.
        prefix: state-dict prefix of the backbone; ``None`` finds it.
    """

    def __init__(self, filename: str = 'backbone.pth', prefix: Optional[str] = None) -> None:
        if not filename:
            raise ValueError('BackboneExportHook needs a filename')
        self.filename = filename
        self.prefix = prefix

    def after_train(self, runner) -> None:
        if not is_main_process():
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        out = self.filename if osp.isabs(self.filename) else osp.join(runner.work_dir,
                                                                          self.filename)
        meta = dict(iter=runner.iter, epoch=runner.epoch, source=f'{runner.work_dir} (training)')
        backbone = save_backbone(model.state_dict(), out, self.prefix, meta)
        print_log(f'BackboneExportHook: wrote {len(backbone)} backbone tensors to {out}',
                  logger='current')
