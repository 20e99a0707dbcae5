"""Distributed training on machines without CUDA (gloo), for the pytorch and slurm launchers.

mmengine 0.10.7's launchers call ``torch.cuda.set_device`` unconditionally and wrap the model with
``device_ids=[LOCAL_RANK]``; neither works on a CPU. :func:`setup_cpu_distributed` initialises a
gloo process group itself (the Runner then skips its own initialisation) and points the config at
:class:`CPUDistributedDataParallel`. On CUDA machines nothing changes: mmengine's nccl path applies.
"""
from __future__ import annotations

import os
import subprocess
from datetime import timedelta

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.model import MMDistributedDataParallel, revert_sync_batchnorm
from mmengine.registry import MODEL_WRAPPERS

LAUNCHERS = ('none', 'pytorch', 'slurm')


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """:class:`MMDistributedDataParallel` for CPU processes.

    Reverts SyncBN layers (CUDA-only) to plain BN before wrapping, and never passes device ids.
    Buffers are not broadcast from rank 0 on every forward (``broadcast_buffers=False``, as
    mmengine's default): modules that keep state across ranks (memory banks) synchronise it
    themselves.
    """

    def __init__(self, module: torch.nn.Module, device_ids=None, broadcast_buffers: bool = False,
                 **kwargs) -> None:
        del device_ids  # the Runner passes [LOCAL_RANK], which is a CUDA device index
        super().__init__(module=revert_sync_batchnorm(module), device_ids=None,
                         broadcast_buffers=broadcast_buffers, **kwargs)


def _slurm_env_to_torch_env(port: int) -> None:
    """Fill RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT from SLURM's variables."""
    os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
    os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
    os.environ.setdefault('LOCAL_RANK', os.environ.get('SLURM_LOCALID', '0'))
    if 'MASTER_ADDR' not in os.environ:
        nodes = os.environ['SLURM_NODELIST']
        first = subprocess.check_output(['scontrol', 'show', 'hostname', nodes], text=True).split()[0]
        os.environ['MASTER_ADDR'] = first
    os.environ.setdefault('MASTER_PORT', str(port))


def setup_cpu_distributed(cfg: Config, launcher: str, port: int = 29500) -> bool:
    """Prepare a CPU (gloo) distributed run when ``launcher`` asks for one and CUDA is absent.

    Args:
        cfg: the experiment config; its ``model_wrapper_cfg`` is set to
            :class:`CPUDistributedDataParallel` unless the user set one, passing the config's
            ``find_unused_parameters`` (which mmengine reads only without a wrapper config).
        launcher: ``'none'``, ``'pytorch'`` (torchrun) or ``'slurm'``.
        port: MASTER_PORT for slurm when the environment has none.

    Returns:
        True when a gloo process group was initialised (or already existed) for a CPU run.
    """
    if launcher not in LAUNCHERS:
        raise ValueError(f'launcher must be one of {LAUNCHERS}, got {launcher!r}')
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if launcher == 'slurm':
        _slurm_env_to_torch_env(port)
    missing = [k for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT') if k not in os.environ]
    if missing:
        raise RuntimeError(f'launcher {launcher!r} needs the environment variables {missing}; start '
                           'the job with torchrun (tools/dist_train.sh) or srun (tools/slurm_train.sh)')
    if not torch_dist.is_initialized():
        timeout = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('timeout', 1800)
        torch_dist.init_process_group(backend='gloo', rank=int(os.environ['RANK']),
                                      world_size=int(os.environ['WORLD_SIZE']),
                                      timeout=timedelta(seconds=timeout))
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(type='CPUDistributedDataParallel', find_unused_parameters=bool(
            cfg.get('find_unused_parameters', False)))
    return True
