from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from content import Matcher, load_library
from content.library import DEFAULT_DIR

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def lib():
    return load_library()


@pytest.fixture(scope="session")
def matcher(lib):
    return Matcher(lib)


@pytest.fixture
def scenario_copy(tmp_path):
    """A writable copy of the scenario directory, to break one file at a time."""
    dst = tmp_path / "scenarios"
    shutil.copytree(DEFAULT_DIR, dst)
    return dst
