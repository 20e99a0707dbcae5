"""``get_compiler_version`` / ``get_compiling_cuda_version``: mmcv's environment report."""
import torch


def get_compiler_version() -> str:
    """What mmengine's ``collect_env`` prints as the compiler of mmcv's ops."""
    return 'none (cl_dense torchvision-backed mmcv._ext)'


def get_compiling_cuda_version() -> str:
    """The CUDA version the kernels run with: torch's (the kernels are torch's and torchvision's)."""
    return torch.version.cuda or 'not available'
