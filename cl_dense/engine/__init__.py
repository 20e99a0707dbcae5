"""Training-engine helpers: safe checkpoint loading, CPU-distributed runs, hooks."""
from .amp import CPUAmpOptimWrapper
from .checkpoint import (UnsafeCheckpointError, allow_mmengine_checkpoint_globals,
                         install_safe_checkpoint_loader, load_local_checkpoint_safely, load_url_safely)
from .dist import CPUDistributedDataParallel, setup_cpu_distributed

__all__ = ['CPUAmpOptimWrapper', 'UnsafeCheckpointError', 'allow_mmengine_checkpoint_globals',
           'install_safe_checkpoint_loader', 'load_local_checkpoint_safely', 'load_url_safely',
           'CPUDistributedDataParallel', 'setup_cpu_distributed']
