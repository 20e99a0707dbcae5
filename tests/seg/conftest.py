"""Every test here runs with mmengine's default scope 'mmseg' and leaves the scope as it found it
(module-level `init_default_scope` calls made the suite depend on the order of the files)."""
import pytest
from mmengine.registry import DefaultScope


@pytest.fixture(autouse=True)
def mmseg_default_scope():
    with DefaultScope.overwrite_default_scope('mmseg'):
        yield
