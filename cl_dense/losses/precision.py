"""Loss maths in float32 whatever the training precision."""
import functools
from typing import Callable

import torch
from torch import Tensor


def float32_maths(forward: Callable) -> Callable:
    """Decorator for ``forward(self, x, *args, **kwargs)``: run it with autocast disabled and its
    float16/bfloat16 tensor arguments cast to float32 (float32/float64 and integer tensors are
    passed unchanged).

    Under an autocast region (bf16/fp16 training) the similarity products would otherwise drop
    back to half precision, which temperature-scaled exponentials and small distances do not
    tolerate. The device of the autocast region is the first argument's.
    """
    def cast(value):
        if isinstance(value, Tensor) and value.dtype in (torch.float16, torch.bfloat16):
            return value.float()
        return value

    @functools.wraps(forward)
    def wrapped(self, x: Tensor, *args, **kwargs):
        with torch.autocast(x.device.type, enabled=False):
            return forward(self, cast(x), *(cast(a) for a in args),
                           **{k: cast(v) for k, v in kwargs.items()})
    return wrapped
