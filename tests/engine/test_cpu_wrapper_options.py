"""setup_cpu_distributed keeps the config's find_unused_parameters (mmengine passes it to DDP only
when no model_wrapper_cfg is set, and the CPU path sets one): SwAV's frozen prototypes need it."""
import os
import subprocess
import sys

from ..conftest import PROJECT_ROOT
from .runner_utils import free_port

CODE = '''
import os, sys
os.environ.update(RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1", MASTER_PORT=sys.argv[1])
from mmengine.config import Config
from cl_dense.engine.dist import setup_cpu_distributed
for options in ({}, {"find_unused_parameters": True}):
    cfg = Config(options)
    assert setup_cpu_distributed(cfg, "pytorch")
    print(dict(cfg.model_wrapper_cfg))
'''


def test_cpu_wrapper_gets_find_unused_parameters_from_the_config():
    """In a fresh process (this one must not hold a process group), CUDA hidden."""
    proc = subprocess.run([sys.executable, '-c', CODE, str(free_port())], capture_output=True,
                          text=True, timeout=300, cwd=PROJECT_ROOT,
                          env=dict(os.environ, CUDA_VISIBLE_DEVICES=''))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split('\n')[:2] == [
        "{'type': 'CPUDistributedDataParallel', 'find_unused_parameters': False}",
        "{'type': 'CPUDistributedDataParallel', 'find_unused_parameters': True}"]
