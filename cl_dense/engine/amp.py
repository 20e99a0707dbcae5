"""Mixed precision on the CPU: mmengine's AmpOptimWrapper requires CUDA, so ``--amp`` uses this."""
from __future__ import annotations

from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(OptimWrapper):
    """An :class:`OptimWrapper` that runs the forward pass under ``torch.autocast('cpu')``.

    bfloat16 has float32's exponent range, so no loss scaling is needed (unlike float16 on CUDA).

    Args:
        dtype: autocast dtype, ``'bfloat16'`` (default) or ``'float16'``.
        **kwargs: passed to :class:`OptimWrapper`.
    """

    def __init__(self, dtype: str = 'bfloat16', **kwargs) -> None:
        if dtype not in ('bfloat16', 'float16'):
            raise ValueError(f'CPUAmpOptimWrapper dtype must be bfloat16 or float16, got {dtype!r}')
        super().__init__(**kwargs)
        self.cast_dtype = getattr(torch, dtype)

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        with super().optim_context(model), torch.autocast('cpu', dtype=self.cast_dtype):
            yield
