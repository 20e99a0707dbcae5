"""Shared pytest fixtures and paths."""
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / 'shared' / 'data'


@pytest.fixture
def shared_data() -> Path:
    """Root of ../shared/data; skips the test when the folder is absent (a user's clone)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f'real data folder {SHARED_DATA} is absent')
    return SHARED_DATA
