"""``PrototypeUpdateHook``: PCL's "re-cluster every epoch" for iteration-based runs."""
from __future__ import annotations

from typing import Optional

from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


@HOOKS.register_module()
class PrototypeUpdateHook(Hook):
    """Call the model's ``update_prototypes()`` after iteration ``warmup_iters`` and then every
    ``interval`` iterations (counting finished iterations ``n = runner.iter + 1``: it fires when
    ``n >= warmup_iters`` and ``(n - warmup_iters) % interval == 0``).

    Args:
        interval: iterations between k-means runs; ``None`` = one pass over the dataset,
            ``len(dataset) // (batch_size * world_size)`` (at least 1): our "epoch".
        warmup_iters: iterations of plain MoCo before the first k-means; ``None`` = ``interval``.
    """

    priority = 'NORMAL'

    def __init__(self, interval: Optional[int] = None,
                 warmup_iters: Optional[int] = None) -> None:
        for name, value in (('interval', interval), ('warmup_iters', warmup_iters)):
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f'{name} must be a positive int or None, got {value!r}')
        self.interval = interval
        self.warmup_iters = warmup_iters

    def before_train(self, runner) -> None:
        if self.interval is None:
            loader = runner.train_dataloader
            self.interval = max(1, len(loader.dataset) // (loader.batch_size * get_world_size()))
        if self.warmup_iters is None:
            self.warmup_iters = self.interval
        print_log(f'PrototypeUpdateHook: k-means after iteration {self.warmup_iters}, then '
                  f'every {self.interval}', logger='current')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        done = runner.iter + 1
        if done < self.warmup_iters or (done - self.warmup_iters) % self.interval:
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not model.update_prototypes():
            print_log(f'PrototypeUpdateHook: iteration {done}: the feature bank holds fewer keys '
                      f'than the largest num_clusters; k-means skipped', logger='current',
                      level=30)
