"""The scripts under ``tools/`` (not a package) imported as modules, for the tests."""
import importlib.util
import os
import sys
from types import ModuleType

from .conftest import PROJECT_ROOT


def load_tool(relative_path: str) -> ModuleType:
    """``tools/<relative_path>`` (e.g. ``'analysis_tools/gpu_check.py'``) as a fresh module.

    The module is registered in ``sys.modules`` under its name (dataclasses and pickling look it
    up there). Environment variables the script sets while it is imported (the benchmarks set
    ``OMP_WAIT_POLICY`` for their own runs) are put back, so they do not leak into the tests.
    """
    path = PROJECT_ROOT / 'tools' / relative_path
    name = 'cl_dense_tool_' + relative_path.replace('/', '_').removesuffix('.py')
    saved = dict(os.environ)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return module
