"""Optional Triton: the CUDA kernels load only when Triton imports; callers fall back otherwise."""
import functools
from types import ModuleType
from typing import Optional


@functools.cache
def triton_backend() -> Optional[ModuleType]:
    """The Triton pass implementations (``contrast_triton``), or ``None`` without Triton."""
    try:
        from . import contrast_triton
    except ImportError:
        return None
    return contrast_triton
