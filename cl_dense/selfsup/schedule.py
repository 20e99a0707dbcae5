"""Re-length an iteration-based mmengine config: the overrides that make it an ``iters``-iteration
run (used by ``tools/pretrain.py --iters`` and ``compare_pretraining.py``)."""
from __future__ import annotations

from typing import Any, Optional


def schedule_overrides(cfg: Any, iters: Optional[int] = None) -> tuple[dict[str, Any], int]:
    """Dotted-key overrides (for ``Config.merge_from_dict`` or ``--cfg-options k=v``) making the
    iteration-based ``cfg`` an ``iters``-iteration run (``None``: its own ``train_cfg.max_iters``),
    and that length: the last scheduler ends there, cosine schedules (``T_max``) span it, one
    checkpoint (and one validation, if it validates) at the end.

    Raises:
        ValueError: ``iters`` is not positive or the config has no ``train_cfg.max_iters``.
    """
    if iters is not None and iters <= 0:
        raise ValueError(f'iters must be positive, got {iters}')
    if cfg.get('train_cfg', {}).get('max_iters') is None:
        raise ValueError('the config is not iteration-based (no train_cfg.max_iters)')
    iters = iters or int(cfg.train_cfg.max_iters)
    options: dict[str, Any] = {'train_cfg.max_iters': iters,
                               'default_hooks.checkpoint.interval': iters}
    if cfg.train_cfg.get('val_interval') is not None:
        options['train_cfg.val_interval'] = iters
    schedulers = cfg.get('param_scheduler') or []
    schedulers = [schedulers] if isinstance(schedulers, dict) else schedulers
    for i, scheduler in enumerate(schedulers):
        if 'T_max' in scheduler:
            options[f'param_scheduler.{i}.T_max'] = iters - scheduler.get('begin', 0)
        if i == len(schedulers) - 1:
            options[f'param_scheduler.{i}.end'] = iters
    return options, iters
