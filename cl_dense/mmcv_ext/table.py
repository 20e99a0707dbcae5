"""The contents of the ``mmcv._ext`` module served by :mod:`.hook` (mmcv-lite set-ups).

Provided on torch/torchvision kernels (CPU and CUDA): roi_align_forward/backward (average mode),
nms (offset 0/1), sigmoid_focal_loss_forward/backward, ms_deform_attn_forward/backward,
deform_conv_forward/backward_input/backward_parameters,
modulated_deform_conv_forward/backward, get_compiler_version, get_compiling_cuda_version.
Every other op mmcv.ops declares exists as a name (``mmcv.ops`` checks the names at import) and
raises :class:`~.errors.MissingMmcvOpError` when called.
"""
from typing import Any, Callable

from . import deform_conv, focal_loss, info, ms_deform_attn, nms, roi_align
from .errors import MissingMmcvOpError

PROVIDED: dict[str, Callable[..., Any]] = {
    'roi_align_forward': roi_align.roi_align_forward,
    'roi_align_backward': roi_align.roi_align_backward,
    'nms': nms.nms,
    'sigmoid_focal_loss_forward': focal_loss.sigmoid_focal_loss_forward,
    'sigmoid_focal_loss_backward': focal_loss.sigmoid_focal_loss_backward,
    'ms_deform_attn_forward': ms_deform_attn.ms_deform_attn_forward,
    'ms_deform_attn_backward': ms_deform_attn.ms_deform_attn_backward,
    'deform_conv_forward': deform_conv.deform_conv_forward,
    'deform_conv_backward_input': deform_conv.deform_conv_backward_input,
    'deform_conv_backward_parameters': deform_conv.deform_conv_backward_parameters,
    'modulated_deform_conv_forward': deform_conv.modulated_deform_conv_forward,
    'modulated_deform_conv_backward': deform_conv.modulated_deform_conv_backward,
    'get_compiler_version': info.get_compiler_version,
    'get_compiling_cuda_version': info.get_compiling_cuda_version,
}


def exported_functions() -> dict[str, Callable[..., Any]]:
    """Name -> function for every op this table implements."""
    return dict(PROVIDED)


def missing_op(name: str) -> Callable[..., Any]:
    """A stand-in for an unimplemented op: raises :class:`MissingMmcvOpError` when called."""

    def unavailable(*args: Any, **kwargs: Any) -> Any:
        raise MissingMmcvOpError(name)

    unavailable.__name__ = name
    unavailable.__qualname__ = name
    return unavailable


def missing_function(name: str) -> Callable[..., Any]:
    """Module ``__getattr__`` of ``mmcv._ext``: a raising stand-in for any public op name."""
    if name.startswith('_'):
        raise AttributeError(f"module 'mmcv._ext' has no attribute {name!r}")
    return missing_op(name)
